import type { LockGrant } from './order-lock.js';

/** One committed transition, every label bounded: declared states and events, known dimensions and sources, else one label for the rest. */
export interface TransitionLabels {
  readonly fromState: string;
  readonly toState: string;
  readonly event: string;
  readonly bizCode: string;
  readonly sceneId: string;
  readonly source: string;
}

/**
 * One refused event (an order-fsm error below 500), every label bounded: `event` as in
 * TransitionLabels, `code` an order-fsm error code, `reason` the checker's or processor's reason
 * of a CHECK_FAILED when the service declares it (else `other`), `none` for any other code, `source`
 * a known source or `other`.
 */
export interface RefusalLabels {
  readonly event: string;
  readonly code: string;
  readonly reason: string;
  readonly source: string;
}

/**
 * How an event's wait for its order's lock ended: got (see LockGrant), `busy` (ORDER_BUSY: still
 * held after the wait) or `unavailable` (the lock's store could not be reached).
 */
export type LockOutcome = LockGrant | 'busy' | 'unavailable';
export const LOCK_OUTCOMES: readonly LockOutcome[] = ['acquired', 'handed_off', 'none', 'busy', 'unavailable'];

/**
 * What the engine reports as it works. Give `OrderFsmModule` an implementation in `metrics`
 * (`PrometheusOrderFsmMetrics` for prom-client); without one nothing is recorded. Every label the
 * engine passes is already bounded (by the machine, the declared dimensions and reasons, the error
 * codes, the known sources), so an implementation may key series on them as they come.
 */
export interface OrderFsmMetrics {
  /** One sendEvent: `outcome` is `applied`, `replayed` or the error code; times in milliseconds. */
  event(event: string, outcome: string, durationMs: number, lockWaitMs: number): void;
  /** Status and work messages the relay got acknowledged, with their lag from commit to ack. */
  published(lagsMs: readonly number[]): void;
  /** A worker's verdict on one delivery of automatic work: done, retry, wait or dead. */
  work(event: string, verdict: string): void;
  /** One committed transition (an operator's forced move too), with its labels already bounded. */
  transition?(labels: TransitionLabels): void;
  /** One refused event, with its labels already bounded. */
  refusal?(labels: RefusalLabels): void;
  /** One wait for an order's lock (or a new order's request id), in milliseconds, and how it ended. */
  lock?(outcome: LockOutcome, waitMs: number): void;
  /** One operator's act that changed an order or a dead letter: `kind` force, pause, resume, event, redrive, discard; `actor` bounded by the operator API. */
  operatorAction?(kind: string, actor: string): void;
}

export const NO_METRICS: OrderFsmMetrics = Object.freeze({
  event: () => undefined,
  published: () => undefined,
  work: () => undefined,
  transition: () => undefined,
  refusal: () => undefined,
  lock: () => undefined,
  operatorAction: () => undefined,
});
