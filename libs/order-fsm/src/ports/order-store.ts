import type { EntityManager } from 'typeorm';
import type { FsmOrder } from '../model/order.js';
import type { TransitionSource } from '../model/event.js';
import type { OutboxMessage } from '../model/messages.js';

export type { OutboxMessage };

/** A durable timer: `event` is sent to the order at `fireAt` if it is still at this transition's version. */
export interface TimerWrite {
  readonly event: string;
  readonly fireAt: Date;
}

/** One transition to commit: the order as it was read, where it goes, and everything that goes with it. */
export interface TransitionWrite {
  /** The order as loaded: its state and version are the fence. Version 0 means "create it". */
  readonly order: FsmOrder;
  readonly toState: string;
  readonly event: string;
  readonly requestId: string;
  /** Identifies the request: the same id with another hash is a reused key. */
  readonly requestHash: string;
  /** Whose request id it is: ids are unique per caller (`@system` for the engine's own, `''` for none named). */
  readonly caller: string;
  readonly source: TransitionSource;
  readonly at: Date;
  readonly messages: readonly OutboxMessage[];
  /** When the sweeper should queue the automatic work of `toState` again; null when it has none. */
  readonly autoDueAt: Date | null;
  /**
   * Whether commit()'s `work` may write through the EntityManager (the processor has a save() of its
   * own). When false, `work` sends no statement, and a store may run it first and send the whole
   * transaction at once. Default true.
   */
  readonly workWrites?: boolean;
  /** The durable timer this transition fires: its row is marked `fired` in the same transaction. */
  readonly firesTimer?: number;
}

export interface TransitionLogEntry {
  readonly orderId: string;
  readonly version: number;
  readonly event: string;
  readonly fromState: string;
  readonly toState: string;
  readonly requestId: string;
  readonly source: TransitionSource;
  /** The caller that sent it (`@system` for the engine's own events, `''` when none was named). */
  readonly caller: string;
  readonly createdAt: Date;
}

/** What save() leaves for the rest of the transaction: the stored response, and the timers scheduled. */
export interface SaveOutcome {
  /** The outcome as JSON, answered again to a replay of the same request. */
  readonly response: string;
  readonly timers: readonly TimerWrite[];
}

/** A request id already consumed by a committed transition. */
export interface ConsumedRequest {
  readonly requestHash: string;
  /** The outcome it produced, as stored (JSON-decoded). */
  readonly response: unknown;
}

export interface ClaimedMessage extends OutboxMessage {
  readonly id: number;
  readonly orderId: string;
  /** When the transition that wrote it happened. */
  readonly createdAt: Date;
}

export interface DueTimer {
  readonly id: number;
  readonly orderId: string;
  readonly version: number;
  readonly state: string;
  readonly event: string;
}

export interface StuckOrder {
  readonly orderId: string;
  readonly state: string;
  readonly version: number;
  readonly bizCode: string;
  readonly sceneId: string;
}

/**
 * The storage port. commit() must, in one transaction: write the order only if it still has the
 * version (and state) it was read with, run `work` with the transaction's EntityManager, then append
 * the transition log row (consuming the request id, with the response `work` answered), the outbox
 * messages and the timers `work` answered; all of it commits or none of it does.
 */
export interface OrderStore {
  load(orderId: string): Promise<FsmOrder | null>;
  /** The order and, if this caller already consumed the request id, what it produced: in one round trip. */
  loadForEvent(orderId: string, requestId: string, caller: string): Promise<{ order: FsmOrder | null; consumed: ConsumedRequest | null }>;
  /** What the caller's request id produced, if a committed transition consumed it. */
  findConsumedRequest(requestId: string, caller: string): Promise<ConsumedRequest | null>;
  commit(write: TransitionWrite, work: (manager: EntityManager) => Promise<SaveOutcome>): Promise<FsmOrder>;
  listTransitions(orderId: string): Promise<TransitionLogEntry[]>;

  /**
   * Claims up to `limit` unpublished messages that no other relay holds, keeping for each order only
   * a prefix in order; hands them to `publish`, which answers the ids the broker acknowledged; marks
   * those published. Answers how many were claimed.
   */
  relayOutbox(limit: number, publish: (messages: readonly ClaimedMessage[]) => Promise<readonly number[]>): Promise<number>;
  /** Deletes published messages older than `before`; answers how many. */
  purgePublished(before: Date, limit: number): Promise<number>;
  /** Unpublished messages: how many, and since when the oldest waits. */
  outboxBacklog(): Promise<{ count: number; oldestCreatedAt: Date | null }>;

  /**
   * Claims up to `limit` timers due at `now` that no one else holds, and commits the claim before it
   * answers: each is due again `leaseMs` after `now`, so a timer whose instance died while firing it
   * comes due again once the lease runs out. Nothing stays open while the caller fires them.
   */
  claimDueTimers(now: Date, limit: number, leaseMs: number): Promise<DueTimer[]>;
  /**
   * Records a timer that did not fire through a transition (the order moved on, the event was
   * refused): `outcome` says why. With `retryAt` instead, the timer is due again then.
   */
  settleTimer(id: number, result: { outcome: string } | { retryAt: Date }): Promise<void>;

  /**
   * Finds orders whose automatic work is overdue, pushes their due time to `nextDueAt(order)`, and
   * adds the messages `requeue(order)` answers to the outbox, each claim fenced by the order's version.
   */
  requeueStuck(
    now: Date,
    limit: number,
    requeue: (order: StuckOrder) => { messages: readonly OutboxMessage[]; nextDueAt: Date | null },
  ): Promise<number>;

  /** Marks an order for a person to look at (its automatic work was dead-lettered); its next transition clears the mark. */
  flagOrder(orderId: string, reason: string, at: Date): Promise<void>;
}
