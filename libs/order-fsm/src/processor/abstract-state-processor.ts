import type { CheckerPlan } from './checker.js';
import { ServiceResult } from '../model/service-result.js';
import type { StateContext } from './state-context.js';

type MaybePromise<T> = T | Promise<T>;
const NO_CHECKERS: CheckerPlan = Object.freeze({});

/**
 * The template every @OrderProcessor extends. The engine runs it as
 * param checkers -> prepare -> sync checkers -> parallel checkers -> getNextState -> action
 * -> plugins -> save (inside the engine's transaction) -> after.
 * Override the steps you need; a failed ServiceResult from any step ends the event with CHECK_FAILED.
 *
 * @typeParam T the result data this processor answers with
 * @typeParam C the processor's own context, filled by prepare()
 * @typeParam P the event payload
 * @typeParam S the states it may move to: `StateOf<typeof yourMachine>` lets the compiler check getNextState()
 */
export abstract class AbstractStateProcessor<T = unknown, C = any, P = any, S extends string = string> {
  /** The checkers to run for this event. */
  checkers(_ctx: StateContext<C, P>): CheckerPlan<C, P> {
    return NO_CHECKERS;
  }

  /** Chooses among several processors registered under the same key. */
  filter(_ctx: StateContext<C, P>): boolean {
    return true;
  }

  /** Loads what the later steps need into ctx.context. */
  prepare(_ctx: StateContext<C, P>): MaybePromise<void> {}

  /** The state the order moves to; may depend on the data. */
  abstract getNextState(ctx: StateContext<C, P>): MaybePromise<S>;

  /** The business logic of the transition; changes to ctx.order.data are persisted with the state. */
  abstract action(nextState: S, ctx: StateContext<C, P>): MaybePromise<ServiceResult<T>>;

  /**
   * Writes the processor's own rows through ctx.manager, inside the transaction that also moves the
   * state. Its result is the event's result when it carries data; otherwise action()'s is.
   */
  save(_nextState: S, _ctx: StateContext<C, P>): MaybePromise<ServiceResult<T>> {
    return ServiceResult.ok<T>();
  }

  /** Runs after commit. A failure here is logged; the transition stands. */
  after(_ctx: StateContext<C, P>): MaybePromise<void> {}
}

/** Whether the processor writes rows of its own in save(); the store commits faster when it does not. */
export function overridesSave(processor: AbstractStateProcessor): boolean {
  return processor.save !== AbstractStateProcessor.prototype.save;
}

export function overridesFilter(processor: AbstractStateProcessor): boolean {
  return processor.filter !== AbstractStateProcessor.prototype.filter;
}
