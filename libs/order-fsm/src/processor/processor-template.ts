import type { Logger } from '@nestjs/common';
import { CheckFailedError, OrderFsmError } from '../errors/order-fsm.errors.js';
import { messages } from '../order-fsm.messages.js';
import type { AbstractProcessorPlugin } from './abstract-processor-plugin.js';
import type { AbstractStateProcessor } from './abstract-state-processor.js';
import type { Checker } from './checker.js';
import type { CheckerExecutor } from './checker-executor.js';
import { runPlugins } from './plugin-executor.js';
import { ServiceResult } from '../model/service-result.js';
import type { StateContext } from './state-context.js';

export type TemplateStep = 'param-check' | 'sync-check' | 'parallel-check' | 'action' | 'plugin' | 'save';

/**
 * Opens the transaction, runs save() inside it with the state change and the log row, and commits.
 * `save` answers the event's result, which is stored with the transition for replays.
 */
export type Persist = (nextState: string, save: () => Promise<ServiceResult>) => Promise<void>;

/** What the template needs from the engine. */
export interface TemplateRuntime {
  readonly checkers: CheckerExecutor;
  readonly persist: Persist;
  readonly logger: Logger;
  /** Throws when the processor's next state is not a declared target: checked before action() runs. */
  readonly assertTransition: (nextState: string) => void;
}

export interface TemplateRun<T> {
  readonly nextState: string;
  readonly result: ServiceResult<T>;
}

function failIf(result: ServiceResult | undefined, step: TemplateStep): void {
  if (result && !result.success) {
    throw new CheckFailedError(step, result.code ?? 'UNSPECIFIED', result.message ?? `${step} failed`, result.details, result);
  }
}

function failureOf(error: unknown): ServiceResult {
  if (error instanceof CheckFailedError && error.result) return error.result;
  if (error instanceof OrderFsmError) return ServiceResult.fail(error.code, error.message);
  return ServiceResult.fail('INTERNAL_ERROR', error instanceof Error ? error.message : String(error));
}

/**
 * The processor template: param checkers -> prepare -> sync checkers -> parallel checkers ->
 * getNextState -> action -> plugins -> save (in the transaction) -> after; then every checker that
 * ran and holds something is released exactly once, whatever the outcome.
 */
export async function runProcessorTemplate<T>(
  processor: AbstractStateProcessor<{ result: T }>,
  ctx: StateContext,
  plugins: readonly AbstractProcessorPlugin[],
  runtime: TemplateRuntime,
): Promise<TemplateRun<T>> {
  const { checkers, persist, logger } = runtime;
  const invoked: Checker[] = [];
  let outcome: ServiceResult = ServiceResult.fail('INTERNAL_ERROR', 'the template did not finish');
  try {
    const plan = processor.checkers(ctx);
    failIf(await checkers.serial(plan.param, ctx, invoked), 'param-check');
    await processor.prepare(ctx);
    failIf(await checkers.serial(plan.sync, ctx, invoked), 'sync-check');
    failIf(await checkers.parallel(plan.parallel, ctx, invoked), 'parallel-check');

    const nextState = await processor.getNextState(ctx);
    if (typeof nextState !== 'string' || nextState.length === 0) {
      throw new Error(messages.badNextState(processor.constructor.name, nextState));
    }
    runtime.assertTransition(nextState);
    ctx.nextState = nextState;

    const actionResult = await processor.action(nextState, ctx);
    failIf(actionResult, 'action');
    failIf(await runPlugins(plugins, ctx), 'plugin');

    let result: ServiceResult<T> = actionResult;
    await persist(nextState, async () => {
      const saveResult = await processor.save(nextState, ctx);
      failIf(saveResult, 'save');
      result = saveResult.data !== undefined ? saveResult : actionResult;
      return result;
    });
    outcome = result;

    try {
      await processor.after(ctx);
    } catch (error) {
      logger.error(`after() of ${processor.constructor.name} failed for order ${ctx.order.orderId}`, error as Error);
    }
    return { nextState, result };
  } catch (error) {
    outcome = failureOf(error);
    throw error;
  } finally {
    if (invoked.length > 0) await checkers.release(invoked, ctx, outcome);
  }
}
