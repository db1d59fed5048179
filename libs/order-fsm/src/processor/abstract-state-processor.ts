import type { CheckerPlan } from './checker.js';
import { ServiceResult } from '../model/service-result.js';
import type { ProcessorTypes, ResultOf, TargetOf } from './processor-types.js';
import type { StateContext } from './state-context.js';

type MaybePromise<T> = T | Promise<T>;
const NO_CHECKERS: CheckerPlan = Object.freeze({});

/**
 * The template every @OrderProcessor extends. The engine runs it as
 * param checkers -> prepare -> sync checkers -> parallel checkers -> getNextState -> action
 * -> plugins -> save (inside the engine's transaction) -> after.
 * Override the steps you need; a failed ServiceResult from any step ends the event with CHECK_FAILED.
 *
 * @typeParam S the processor's types, in one bag (see ProcessorTypes): `data` types ctx.order.data,
 * `payload` ctx.payload, `context` ctx.context, `result` what action() and save() answer, and
 * `state` what getNextState() may answer: `MachineTypes<typeof yourMachine>` gives the machine's
 * states (and events, for ctx.schedule()), so the compiler refuses an undeclared target.
 */
export abstract class AbstractStateProcessor<S extends ProcessorTypes = {}> {
  /** The checkers to run for this event. */
  checkers(_ctx: StateContext<S>): CheckerPlan<S> {
    return NO_CHECKERS;
  }

  /** Chooses among several processors registered under the same key. */
  filter(_ctx: StateContext<S>): boolean {
    return true;
  }

  /** Loads what the later steps need into ctx.context. */
  prepare(_ctx: StateContext<S>): MaybePromise<void> {}

  /** The state the order moves to; may depend on the data. */
  abstract getNextState(ctx: StateContext<S>): MaybePromise<TargetOf<S>>;

  /** The business logic of the transition; changes to ctx.order.data are persisted with the state. */
  abstract action(nextState: TargetOf<S>, ctx: StateContext<S>): MaybePromise<ServiceResult<ResultOf<S>>>;

  /**
   * Writes the processor's own rows through ctx.manager, inside the transaction that also moves the
   * state. Its result is the event's result when it carries data; otherwise action()'s is.
   */
  save(_nextState: TargetOf<S>, _ctx: StateContext<S>): MaybePromise<ServiceResult<ResultOf<S>>> {
    return ServiceResult.ok<ResultOf<S>>();
  }

  /** Runs after commit. A failure here is logged; the transition stands. */
  after(_ctx: StateContext<S>): MaybePromise<void> {}
}

/** Whether the processor writes rows of its own in save(); the store commits faster when it does not. */
export function overridesSave(processor: AbstractStateProcessor): boolean {
  return processor.save !== AbstractStateProcessor.prototype.save;
}

export function overridesFilter(processor: AbstractStateProcessor): boolean {
  return processor.filter !== AbstractStateProcessor.prototype.filter;
}
