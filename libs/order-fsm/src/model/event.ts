/** Who moved an order: recorded with every transition. */
export type TransitionSource = 'api' | 'worker' | 'timer' | 'sweeper' | 'operator' | 'migration' | 'held' | (string & {});

/** The sources that are the engine itself: they send as the `system` sender. */
export const SYSTEM_SOURCES: ReadonlySet<string> = new Set(['worker', 'timer', 'sweeper']);
/**
 * The source of an operator's act (the operator API's force and events): the service has already
 * decided who is an operator, so the machine's `sentBy` does not apply to it.
 */
export const OPERATOR_SOURCE = 'operator';
/** The source of a migration's transition: the order moved to the next version of its machine. */
export const MIGRATION_SOURCE = 'migration';
/**
 * The source of a held late event applied once its order reached a state that takes it: sent again
 * as its first sender sent it (the machine's `sentBy` is checked against that sender's role).
 */
export const HELD_SOURCE = 'held';
/** Every source the engine itself uses; metrics label any other as `other`. */
export const KNOWN_SOURCES: ReadonlySet<string> = new Set(['api', ...SYSTEM_SOURCES, OPERATOR_SOURCE, MIGRATION_SOURCE, HELD_SOURCE]);
/** The event of a forced move (the operator's force): no processor takes it, and no machine declares it. */
export const FORCE_EVENT = '@force';
/** The event of a migration's transition: no processor takes it, and no machine declares it. */
export const MIGRATE_EVENT = '@migrate';

/**
 * An operator's act that an event is part of: who and why, recorded with the transition (its
 * `actor` and `reason`) and, in the same transaction, as a row of the operators' audit.
 */
export interface OperatorAct {
  /** The operator's name. */
  readonly name: string;
  /** Why, in the operator's words. */
  readonly reason: string;
  /** What the operator did: `event`, `force`, `redrive`, ... */
  readonly act: string;
  /** What else the audit row should say (the dead letter redriven, say). */
  readonly detail?: Readonly<Record<string, unknown>>;
}
/** The sender name of the engine's own events (worker, timers, sweeper) in a machine's `sentBy`. */
export const SYSTEM_SENDER = 'system';

/**
 * Who sends an event from outside the engine: a named caller with a role. The role is what the
 * machine's `sentBy` names; the name scopes the caller's request ids and is recorded with the
 * transition.
 */
export interface Caller {
  readonly name: string;
  readonly role: string;
}

export interface OrderStateEvent<P = unknown> {
  eventType: string;
  orderId: string;
  /** Unique per request; a committed transition consumes it. */
  requestId: string;
  /** When set, the event applies only if the order is still in this state. */
  orderState?: string;
  /** When set, the event applies only if the order is still at this version. */
  expectedVersion?: number;
  /**
   * Like expectedVersion, a fence, but one the sender read rather than named, so not part of what
   * identifies the request: a bulk act fences each order at the version it listed, and the same act
   * run again (the same request id, the orders since moved on) replays instead of being refused as a
   * request id reused for another request.
   */
  fenceVersion?: number;
  /** True for the event that creates the order (it starts from the initial, virtual state). */
  newCreate?: boolean;
  payload?: P;
  source?: TransitionSource;
  /**
   * Who sends it. Request ids are unique per caller: two callers may use the same id without
   * replaying or refusing each other. When the machine declares senders, an event that is not the
   * engine's own (worker, timer, sweeper) needs a caller whose role may send it.
   */
  caller?: Caller;
  /** Set by the timer poller: the durable timer this event fires, marked fired in the transition's own transaction. */
  firesTimer?: number;
  /**
   * Set by the operator API: the operator's act this event is part of (with source `operator`, or
   * the engine's own source when an operator redrives its work). Not part of what identifies the
   * request: a retry with other words is the same request.
   */
  operator?: OperatorAct;
}
