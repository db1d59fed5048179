import { Inject, Injectable } from '@nestjs/common';
import type { MachineIssue } from '../registry/validate-machine.js';
import { validateVersions } from '../registry/validate-versions.js';
import { ORDER_FSM_OPTIONS } from '../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import { ProcessorRegistry } from '../registry/processor-registry.js';
import { describeMachine, toDot, toMermaid, toSvg, type DiagramScope, type MachineDiagram } from './machine-diagram.js';

export type DiagramFormat = 'svg' | 'mermaid' | 'dot';
export const DIAGRAM_FORMATS: readonly DiagramFormat[] = ['svg', 'mermaid', 'dot'];

/** The application's machine, as it runs: its diagrams and its validation report. */
@Injectable()
export class OrderFsmDiagrams {
  constructor(
    private readonly registry: ProcessorRegistry,
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
  ) {}

  describe(scope: DiagramScope = {}): MachineDiagram {
    return describeMachine(this.options.machine, this.registry, scope);
  }

  async render(format: DiagramFormat, scope: DiagramScope = {}): Promise<string> {
    const diagram = this.describe(scope);
    return format === 'svg' ? toSvg(diagram) : format === 'dot' ? toDot(diagram) : toMermaid(diagram);
  }

  validate(): MachineIssue[] {
    return validateVersions(this.options.machines, this.options.migrations, this.registry);
  }
}
