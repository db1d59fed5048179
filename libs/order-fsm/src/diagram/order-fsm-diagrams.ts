import { Inject, Injectable } from '@nestjs/common';
import { ValidationFailedError } from '../errors/order-fsm.errors.js';
import type { MachineDefinition } from '../model/machine.js';
import type { MachineIssue } from '../registry/validate-machine.js';
import { validateVersions } from '../registry/validate-versions.js';
import { ORDER_FSM_OPTIONS } from '../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import { ProcessorRegistry } from '../registry/processor-registry.js';
import { describeEvents, type EventDescription } from './event-catalog.js';
import { describeMachine, describeMachineDiff, toDot, toMermaid, toSvg, type DiagramScope, type MachineDiagram } from './machine-diagram.js';

export type DiagramFormat = 'svg' | 'mermaid' | 'dot';
export const DIAGRAM_FORMATS: readonly DiagramFormat[] = ['svg', 'mermaid', 'dot'];

/**
 * The served version `version` of a machine, or VALIDATION_FAILED naming the versions served (in
 * `details.versions`), the field as the ValidationPipe names a bad one (`details.fields`).
 */
export function servedMachine(machines: ReadonlyMap<number, MachineDefinition>, version: number, field = 'version'): MachineDefinition {
  const machine = machines.get(version);
  if (machine) return machine;
  const versions = [...machines.keys()].sort((a, b) => a - b);
  const problem = `${field} ${version} is not a version of the machine this service serves (versions: ${versions.join(', ')})`;
  throw new ValidationFailedError(problem, { fields: [{ field, problems: [problem] }], versions });
}

/** The application's machine, as it runs: its diagrams, any served version's and the difference between two, and its validation report. */
@Injectable()
export class OrderFsmDiagrams {
  constructor(
    private readonly registry: ProcessorRegistry,
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
  ) {}

  /** The versions served, oldest first; the last is the current one. */
  get versions(): number[] {
    return [...this.options.machines.keys()].sort((a, b) => a - b);
  }

  /** Every event of every served version, with who sends it and the payload schemas its processors declare. */
  events(): EventDescription[] {
    return describeEvents(this.options.machines, this.registry);
  }

  /** The states an order can be in, in any served version (the virtual initial state left out), sorted. */
  states(): string[] {
    const machines = [...this.options.machines.values()];
    return [...new Set(machines.flatMap((m) => m.stateNames.filter((state) => state !== m.initial)))].sort();
  }

  /** A version drawn (default: the current one); a version not served is VALIDATION_FAILED naming those served. */
  describe(scope: DiagramScope = {}, version?: number): MachineDiagram {
    const machine = version === undefined ? this.options.machine : servedMachine(this.options.machines, version);
    return describeMachine(machine, this.registry, scope);
  }

  /** What changes from version `from` to version `to` (any two served, the same one included: then everything is `same`). */
  describeDiff(from: number, to: number, scope: DiagramScope = {}): MachineDiagram {
    const before = describeMachine(servedMachine(this.options.machines, from, 'from'), this.registry, scope);
    const after = describeMachine(servedMachine(this.options.machines, to, 'to'), this.registry, scope);
    return describeMachineDiff(before, after);
  }

  async render(format: DiagramFormat, scope: DiagramScope = {}, version?: number): Promise<string> {
    return OrderFsmDiagrams.draw(format, this.describe(scope, version));
  }

  async renderDiff(format: DiagramFormat, from: number, to: number, scope: DiagramScope = {}): Promise<string> {
    return OrderFsmDiagrams.draw(format, this.describeDiff(from, to, scope));
  }

  /** A diagram (or a diff) in a format. */
  static async draw(format: DiagramFormat, diagram: MachineDiagram): Promise<string> {
    return format === 'svg' ? toSvg(diagram) : format === 'dot' ? toDot(diagram) : toMermaid(diagram);
  }

  validate(): MachineIssue[] {
    return validateVersions(this.options.machines, this.options.migrations, this.registry);
  }
}
