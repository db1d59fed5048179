import type { Logger } from '@nestjs/common';
import { CheckFailedError, OrderFsmError } from '../errors/order-fsm.errors.js';
import { ServiceResult } from '../model/service-result.js';
import { messages } from '../order-fsm.messages.js';
import type { AbstractProcessorPlugin } from './abstract-processor-plugin.js';
import { type AbstractStateProcessor, overridesSave } from './abstract-state-processor.js';
import type { Checker } from './checker.js';
import type { CheckerExecutor } from './checker-executor.js';
import { runPlugins } from './plugin-executor.js';
import type { StateContext } from './state-context.js';
import type { OrderFsmTracing } from '../ports/tracing.js';

export type TemplateStep = 'param-check' | 'sync-check' | 'parallel-check' | 'action' | 'plugin' | 'save';

/** The spans of the template's steps, children of sendEvent's, when tracing is on. */
export const TEMPLATE_SPANS = {
  paramCheck: 'order-fsm.param_check',
  prepare: 'order-fsm.prepare',
  syncCheck: 'order-fsm.sync_check',
  parallelCheck: 'order-fsm.parallel_check',
  action: 'order-fsm.action',
  plugins: 'order-fsm.plugins',
} as const;
const NO_ATTRIBUTES = Object.freeze({});

/** What the processor decided, before anything is written: where the order goes and what action() answered. */
export interface Decision<T> {
  readonly nextState: string;
  readonly result: ServiceResult<T>;
}

function failIf(result: ServiceResult | undefined, step: TemplateStep): void {
  if (result && !result.success) {
    throw new CheckFailedError(step, result.code ?? 'UNSPECIFIED', result.message ?? `${step} failed`, result.details, result);
  }
}

/** The failure a checker's release() is told about. */
export function failureOf(error: unknown): ServiceResult {
  if (error instanceof CheckFailedError && error.result) return error.result;
  if (error instanceof OrderFsmError) return ServiceResult.fail(error.code, error.message);
  return ServiceResult.fail('INTERNAL_ERROR', error instanceof Error ? error.message : String(error));
}

/**
 * One event through one processor's template, in the order the engine calls its phases:
 *
 *   decide()  param checkers -> prepare -> sync checkers -> parallel checkers -> getNextState -> action -> plugins
 *   save      the processor's save(), which the store runs inside the transaction (`saver()`)
 *   after()   once the transition committed
 *   release() every checker that ran and holds something, exactly once, whatever the outcome
 *
 * Nothing here writes or calls back into the engine: decide() answers a decision, the engine turns
 * it into a write and the store commits it.
 */
export class ProcessorRun<T> {
  private readonly invoked: Checker[] = [];

  constructor(
    private readonly processor: AbstractStateProcessor<{ result: T }>,
    private readonly ctx: StateContext,
    private readonly plugins: readonly AbstractProcessorPlugin[],
    private readonly checkers: CheckerExecutor,
    private readonly logger: Logger,
    private readonly tracing?: OrderFsmTracing,
  ) {}

  /**
   * Runs the template up to the write. `assertTransition` throws when the next state is not a declared target: checked before action().
   * With tracing on, each step is a span (a step with nothing to run makes none); off, the steps are called as they are.
   */
  async decide(assertTransition: (nextState: string) => void): Promise<Decision<T>> {
    const { processor, ctx, checkers, invoked, tracing } = this;
    const plan = processor.checkers(ctx);
    if (tracing) {
      if (plan.param?.length) await tracing.inSpan(TEMPLATE_SPANS.paramCheck, 'internal', NO_ATTRIBUTES, async () => failIf(await checkers.serial(plan.param, ctx, invoked), 'param-check'));
      await tracing.inSpan(TEMPLATE_SPANS.prepare, 'internal', NO_ATTRIBUTES, async () => processor.prepare(ctx));
      if (plan.sync?.length) await tracing.inSpan(TEMPLATE_SPANS.syncCheck, 'internal', NO_ATTRIBUTES, async () => failIf(await checkers.serial(plan.sync, ctx, invoked), 'sync-check'));
      if (plan.parallel?.length) {
        await tracing.inSpan(TEMPLATE_SPANS.parallelCheck, 'internal', NO_ATTRIBUTES, async () => failIf(await checkers.parallel(plan.parallel, ctx, invoked), 'parallel-check'));
      }
    } else {
      failIf(await checkers.serial(plan.param, ctx, invoked), 'param-check');
      await processor.prepare(ctx);
      failIf(await checkers.serial(plan.sync, ctx, invoked), 'sync-check');
      failIf(await checkers.parallel(plan.parallel, ctx, invoked), 'parallel-check');
    }

    const nextState = await processor.getNextState(ctx);
    if (typeof nextState !== 'string' || nextState.length === 0) {
      throw new Error(messages.badNextState(processor.constructor.name, nextState));
    }
    assertTransition(nextState);
    ctx.nextState = nextState;

    if (tracing) {
      const result = await tracing.inSpan(TEMPLATE_SPANS.action, 'internal', NO_ATTRIBUTES, async () => {
        const answered = await processor.action(nextState, ctx);
        failIf(answered, 'action');
        return answered;
      });
      if (this.plugins.length > 0) await tracing.inSpan(TEMPLATE_SPANS.plugins, 'internal', NO_ATTRIBUTES, async () => failIf(await runPlugins(this.plugins, ctx), 'plugin'));
      return { nextState, result };
    }
    const result = await processor.action(nextState, ctx);
    failIf(result, 'action');
    failIf(await runPlugins(this.plugins, ctx), 'plugin');
    return { nextState, result };
  }

  /** Whether the processor writes rows of its own in save(). */
  get saves(): boolean {
    return overridesSave(this.processor);
  }

  /**
   * The processor's save() for the store to run in its transaction, with the transaction's
   * EntityManager: it answers the event's result (its own when it carries data, otherwise action()'s).
   */
  async save(decision: Decision<T>, manager: Parameters<StateContext['bindManager']>[0]): Promise<ServiceResult<T>> {
    this.ctx.bindManager(manager);
    try {
      const saved = await this.processor.save(decision.nextState, this.ctx);
      failIf(saved, 'save');
      return saved.data !== undefined ? saved : decision.result;
    } finally {
      this.ctx.bindManager(undefined);
    }
  }

  /** After the commit: a failure is logged, the transition stands. */
  async after(): Promise<void> {
    try {
      await this.processor.after(this.ctx);
    } catch (error) {
      this.logger.error(`after() of ${this.processor.constructor.name} failed for order ${this.ctx.order.orderId}`, error as Error);
    }
  }

  /** Releases every checker that ran, once, told how the event ended. */
  async release(outcome: ServiceResult): Promise<void> {
    if (this.invoked.length > 0) await this.checkers.release(this.invoked.splice(0), this.ctx, outcome);
  }
}
