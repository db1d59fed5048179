/** Who moved an order: recorded with every transition. */
export type TransitionSource = 'api' | 'worker' | 'timer' | 'sweeper' | (string & {});

/** The sources that are the engine itself: they send as the `system` sender. */
export const SYSTEM_SOURCES: ReadonlySet<string> = new Set(['worker', 'timer', 'sweeper']);
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
}
