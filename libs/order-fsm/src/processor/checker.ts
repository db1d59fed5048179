import type { ServiceResult } from '../model/service-result.js';
import type { ProcessorTypes } from './processor-types.js';
import type { StateContext } from './state-context.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * One small validation rule. A checker that takes something while checking (a counter, a slot, a
 * lock) says so with needRelease() and gives it back in release(), which the engine calls exactly once
 * after the template ends, successfully or not, with the template's result.
 *
 * @typeParam S the types it reads, as a processor's (see ProcessorTypes). Name only what it reads: a
 * key left out is the widest type, so a checker of `{ payload: P }` serves any processor whose
 * payload is a P, whatever its data.
 */
export interface Checker<S extends ProcessorTypes = {}> {
  check(ctx: StateContext<S>): MaybePromise<ServiceResult<unknown>>;
  /** Lower runs first (param and sync), and wins when several parallel checkers fail. Default 0. */
  readonly order?: number;
  needRelease?(ctx: StateContext<S>): boolean;
  release?(ctx: StateContext<S>, result: ServiceResult<unknown>): MaybePromise<void>;
}

/** The checkers of a processor, by kind. */
export interface CheckerPlan<S extends ProcessorTypes = {}> {
  /** Run first, in order, before prepare(): bad input stops here. */
  param?: readonly Checker<S>[];
  /** Run in order after prepare(). */
  sync?: readonly Checker<S>[];
  /** Run concurrently after the sync checkers; the failure reported is the first by order. */
  parallel?: readonly Checker<S>[];
}
