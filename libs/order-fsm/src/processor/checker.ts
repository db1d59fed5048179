import type { ServiceResult } from '../model/service-result.js';
import type { StateContext } from './state-context.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * One small validation rule. A checker that takes something while checking (a counter, a slot, a
 * lock) says so with needRelease() and gives it back in release(), which the engine calls exactly once
 * after the template ends, successfully or not, with the template's result.
 */
export interface Checker<C = any, P = any> {
  check(ctx: StateContext<C, P>): MaybePromise<ServiceResult<unknown>>;
  /** Lower runs first (param and sync), and wins when several parallel checkers fail. Default 0. */
  readonly order?: number;
  needRelease?(ctx: StateContext<C, P>): boolean;
  release?(ctx: StateContext<C, P>, result: ServiceResult<unknown>): MaybePromise<void>;
}

/** The checkers of a processor, by kind. */
export interface CheckerPlan<C = any, P = any> {
  /** Run first, in order, before prepare(): bad input stops here. */
  param?: readonly Checker<C, P>[];
  /** Run in order after prepare(). */
  sync?: readonly Checker<C, P>[];
  /** Run concurrently after the sync checkers; the failure reported is the first by order. */
  parallel?: readonly Checker<C, P>[];
}
