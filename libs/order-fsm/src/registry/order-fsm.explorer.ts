import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { AbstractProcessorPlugin } from '../processor/abstract-processor-plugin.js';
import { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { OrderFsmConfigurationError } from '../errors/order-fsm.errors.js';
import { validateVersions } from './validate-versions.js';
import { AbstractLateEventCompensation } from '../processor/abstract-late-event-compensation.js';
import { ORDER_FSM_OPTIONS } from '../order-fsm.constants.js';
import { messages } from '../order-fsm.messages.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import { ProcessorRegistry } from './processor-registry.js';
import { OrderFsmMetadataAccessor } from './order-fsm-metadata.accessor.js';

/**
 * Finds every @OrderProcessor and @ProcessorPlugin among the application's providers (useClass,
 * useValue and useFactory alike) at module init, fills the registry and seals it: a broken setup
 * fails bootstrap with every problem named. The only file that touches Nest discovery.
 */
@Injectable()
export class OrderFsmExplorer implements OnModuleInit {
  private readonly logger = new Logger('OrderFsm');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly accessor: OrderFsmMetadataAccessor,
    private readonly registry: ProcessorRegistry,
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
  ) {}

  onModuleInit(): void {
    this.explore();
  }

  explore(): void {
    this.registry.setCurrentVersion(this.options.machine.version);
    for (const wrapper of this.discovery.getProviders()) {
      const target = this.classOf(wrapper);
      if (!target) continue;
      const processor = this.accessor.getProcessorMetadata(target);
      const plugin = this.accessor.getPluginMetadata(target);
      const compensation = this.accessor.getCompensationMetadata(target);
      if (!processor && !plugin && !compensation) continue;

      const name = target.name;
      // Request scope is rejected, not half-supported: the registry holds one instance per class.
      if (!wrapper.isDependencyTreeStatic()) {
        this.registry.reportProblem(messages.requestScoped(name));
        continue;
      }
      const instance: unknown = wrapper.instance;
      if (processor) {
        if (instance instanceof AbstractStateProcessor) this.registry.registerProcessor(name, processor, instance);
        else this.registry.reportProblem(messages.notATemplate(name));
      }
      if (plugin) {
        if (instance instanceof AbstractProcessorPlugin) this.registry.registerPlugin(name, plugin, instance);
        else this.registry.reportProblem(messages.notAPlugin(name));
      }
      if (compensation) {
        if (instance instanceof AbstractLateEventCompensation) this.registry.registerCompensation(name, compensation, instance);
        else this.registry.reportProblem(`${name} is decorated with @LateEventCompensation but does not extend AbstractLateEventCompensation`);
      }
    }
    const { machine } = this.options;
    const warnings: string[] = [];
    const issues = validateVersions(this.options.machines, this.options.migrations, this.registry).filter((issue) => issue.code !== 'OVERLAPPING_PROCESSORS');
    for (const issue of issues) {
      // Overlapping keys are the registry's own check (seal() reports them); the rest is reported here, all at once.
      if (issue.severity === 'error') this.registry.reportProblem(issue.message);
      else warnings.push(issue.message);
    }
    for (const warning of warnings) this.logger.warn(`machine ${machine.name}: ${warning}`);
    try {
      this.registry.seal();
    } catch (error) {
      if (error instanceof OrderFsmConfigurationError) throw new OrderFsmConfigurationError(error.problems, warnings, issues);
      throw error;
    }
  }

  private classOf(wrapper: InstanceWrapper): Function | undefined {
    const { instance } = wrapper;
    if (!wrapper.metatype || wrapper.inject) {
      return instance && typeof instance === 'object' ? (instance.constructor as Function) : undefined;
    }
    return wrapper.metatype as Function;
  }
}
