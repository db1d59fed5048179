import type { EntityManager } from 'typeorm';
import type { FsmOrder } from '../model/order.js';
import type { TransitionSource } from '../model/event.js';
import type { OutboxMessage, WorkMessage } from '../model/messages.js';

export type { OutboxMessage };

/** One row of the operators' audit, as written: who did what to which order, and why. */
export interface OperatorActionWrite {
  readonly orderId: string;
  /** `force`, `pause`, `resume`, `event`, `redrive`, `discard`. */
  readonly kind: string;
  readonly actor: string;
  readonly reason: string;
  readonly at: Date;
  /** What else there is to say (states, versions, the dead letter), as JSON. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Automatic work the broker gave up on, for the dead-letter table. */
export interface DeadLetterWrite {
  readonly work: WorkMessage;
  readonly reason: string;
  /** Deliveries it had. */
  readonly attempts: number;
  readonly at: Date;
}

/**
 * What became of an attempt of automatic work that did not end in a transition: `retry` (it failed,
 * again at `retryAt`), `wait` (not the work's fault, again at `retryAt` as the same attempt),
 * `dead-lettered` (refused, or its last attempt), `moved-on` (nothing left to do), `held` (the order
 * is paused).
 */
export type WorkAttemptOutcome = 'retry' | 'wait' | 'dead-lettered' | 'moved-on' | 'held';

/** One attempt of automatic work that did not apply, for the order's timeline. */
export interface WorkAttemptWrite {
  readonly work: WorkMessage;
  /** The delivery, from 1. */
  readonly attempt: number;
  readonly outcome: WorkAttemptOutcome;
  /** The error's code (INTERNAL_ERROR for one that has none). */
  readonly errorCode: string;
  /** The error's message; the store keeps its first 512 characters. */
  readonly message: string;
  /** When it is delivered again; null when it is not. */
  readonly retryAt: Date | null;
  readonly at: Date;
}

/** A durable timer: `event` is sent to the order at `fireAt` if it is still at this transition's version. */
export interface TimerWrite {
  readonly event: string;
  readonly fireAt: Date;
}

/** One transition to commit: the order as it was read, where it goes, and everything that goes with it. */
export interface TransitionWrite<O extends SaveOutcome = SaveOutcome> {
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
  /** Who acted: an operator's name, the caller's, `@system`. Default: the caller. */
  readonly actor?: string;
  /** Why, for an operator's act. */
  readonly reason?: string;
  readonly at: Date;
  readonly messages: readonly OutboxMessage[];
  /** When the sweeper should queue the automatic work of `toState` again; null when it has none. */
  readonly autoDueAt: Date | null;
  /** The durable timer this transition fires: its row is marked `fired` in the same transaction. */
  readonly firesTimer?: number;
  /** An operator's act: its audit row is written in the same transaction. */
  readonly audit?: OperatorActionWrite;
  /**
   * An operator's forced move: it applies to a paused order too (which stays paused). Every other
   * write is fenced by the pause as by the version: a paused order is never written.
   */
  readonly overridesPause?: boolean;
  /** The machine version the order follows after this write (a migration's `to`). Default: the order's own. */
  readonly machineVersion?: number;
  /** The event's payload as JSON, kept on the log row: what a shadow replay sends again. */
  readonly payload?: string | null;
  /** The processor that decided the transition, kept on the log row. */
  readonly processor?: string;
  /**
   * What the log row stores for replays and the timers the transition schedules, decided before the
   * transaction: the whole write is known up front, and a store may send it in one batch.
   */
  readonly outcome?: O;
  /**
   * The processor's own save(), when it has one: the store runs it inside the transaction, after the
   * fence, with the transaction's EntityManager, and stores the outcome it answers.
   */
  readonly save?: (manager: EntityManager) => Promise<O>;
}

/** What commit() answers: the order as committed and the outcome stored with its log row. */
export interface CommittedTransition<O extends SaveOutcome = SaveOutcome> {
  readonly order: FsmOrder;
  readonly outcome: O;
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
  /** Who acted: the operator who forced, sent or redrove it; else the caller. */
  readonly actor: string;
  /** Why, for an operator's act; null otherwise. */
  readonly reason: string | null;
  readonly createdAt: Date;
  /** The machine version it was decided under (1 for rows written before machines had versions). */
  readonly machineVersion: number;
  /** The event's payload as sent (JSON-decoded); undefined when none was sent or the row predates payloads. */
  readonly payload?: unknown;
  /** The processor that decided it; null for an operator's forced move, a migration, or a row that predates it. */
  readonly processor: string | null;
}

/** What a transition stores with its log row: the response answered to replays, and the timers it schedules. */
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

/** An event a late policy recorded: ignored, compensated, or held until a state takes it. */
export interface LateEventWrite {
  /** The order as loaded: the record is fenced by its version and state, as a transition is. */
  readonly order: FsmOrder;
  readonly event: string;
  readonly requestId: string;
  readonly requestHash: string;
  /** Whose request id it is (as a transition's caller). */
  readonly caller: string;
  /** The sender's role, for a held event sent again on its release. */
  readonly callerRole: string;
  readonly source: TransitionSource;
  /** The payload as JSON, or null. */
  readonly payload: string | null;
  readonly policy: 'ignore' | 'hold' | 'compensate';
  readonly status: 'ignored' | 'held' | 'compensated';
  /** The answer (JSON) a retry of the request gets. */
  readonly response: string;
  /** A held event: when it expires. */
  readonly deadline: Date | null;
  readonly at: Date;
  /** Messages to the outbox in the same transaction (the late-event message). */
  readonly messages: readonly OutboxMessage[];
}

/** A held late event, claimed to be looked at: is its order now in a state that takes it? */
export interface HeldEvent {
  readonly id: number;
  readonly orderId: string;
  /** The order's version and state when it arrived. */
  readonly version: number;
  readonly state: string;
  readonly event: string;
  readonly requestId: string;
  readonly caller: string;
  readonly callerRole: string;
  readonly source: string;
  readonly payload: unknown;
  readonly deadline: Date;
  readonly createdAt: Date;
}

/**
 * How a held event ends (released, expired, compensated on expiry, refused), or when it is looked at
 * again. Either, decided on the order as it was at `orderVersion`, applies only if the order is
 * still at that version when it is written (a transition since may have changed the answer); if it
 * is not, the event is due at once. An ending with a `flag` flags the order, in the same transaction.
 */
export type HeldEventSettlement =
  | {
      readonly status: 'released' | 'expired' | 'compensated' | 'refused';
      readonly outcome: string;
      readonly response: string;
      readonly messages: readonly OutboxMessage[];
      readonly orderId: string;
      readonly version: number;
      readonly orderVersion?: number;
      readonly flag?: string;
    }
  | ({ readonly nextCheckAt: Date } & ({ readonly orderId?: never; readonly orderVersion?: never } | { readonly orderId: string; readonly orderVersion: number }));

/** A late event as recorded, for an order's timeline. */
export interface LateEventRecord {
  readonly id: number;
  readonly orderId: string;
  readonly version: number;
  readonly state: string;
  readonly event: string;
  readonly requestId: string;
  readonly caller: string;
  readonly source: string;
  readonly policy: string;
  readonly status: string;
  readonly deadline: Date | null;
  readonly settledAt: Date | null;
  readonly outcome: string | null;
  readonly createdAt: Date;
}

export interface StuckOrder {
  readonly orderId: string;
  readonly state: string;
  readonly version: number;
  readonly bizCode: string;
  readonly sceneId: string;
  /** The machine version the order follows (as `FsmOrder.machineVersion`); when absent, the current one. */
  readonly machineVersion?: number;
}

/**
 * The storage port. commit() must, in one transaction: write the order only if it still has the
 * version (and state) it was read with, run the write's `save` (if any) with the transaction's
 * EntityManager, then append the transition log row (consuming the request id, with the response of
 * the outcome), the outbox messages and the outcome's timers; all of it commits or none of it does.
 * test/store-contract.e2e-spec.ts is the contract: a store that passes it is a store.
 */
export interface OrderStore {
  load(orderId: string): Promise<FsmOrder | null>;
  /** The order and, if this caller already consumed the request id, what it produced: in one round trip. */
  loadForEvent(orderId: string, requestId: string, caller: string): Promise<{ order: FsmOrder | null; consumed: ConsumedRequest | null }>;
  /** What the caller's request id produced, if a committed transition consumed it. */
  findConsumedRequest(requestId: string, caller: string): Promise<ConsumedRequest | null>;
  commit<O extends SaveOutcome>(write: TransitionWrite<O>): Promise<CommittedTransition<O>>;
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
   * refused): `outcome` says why. With `retryAt` instead, the timer is due again then; `held`
   * marks it as held back by a paused order (resumeOrder() makes such timers due at once).
   */
  settleTimer(id: number, result: { outcome: string } | { retryAt: Date; held?: boolean }): Promise<void>;

  /**
   * Records a late event and its messages in one transaction, if the order is still at the version
   * and state it was read at (VERSION_CONFLICT otherwise); a request id already consumed (here or by
   * a transition) is DUPLICATE_REQUEST.
   */
  recordLateEvent(write: LateEventWrite): Promise<number>;
  /** Claims up to `limit` held events due to be looked at by `now`; each is due again `leaseMs` later unless settled. */
  claimHeldEvents(now: Date, limit: number, leaseMs: number): Promise<HeldEvent[]>;
  /**
   * Ends a held event (with its message, in one transaction), or sets when it is looked at next.
   * False when nothing was ended: it was no longer held, or its order is no longer at the
   * settlement's `orderVersion` (it is then due to be looked at again at once).
   */
  settleHeldEvent(id: number, settlement: HeldEventSettlement): Promise<boolean>;
  /** Makes the order's held events due now: a transition just moved it, and a state may now take them. */
  wakeHeldEvents(orderId: string, now: Date): Promise<void>;
  /** The order's late events, oldest first. */
  listLateEvents(orderId: string): Promise<LateEventRecord[]>;
  /** The timers the order's current version scheduled that have not fired: a migration carries them over. */
  pendingTimers(orderId: string, version: number): Promise<TimerWrite[]>;

  /** Up to `limit` orders whose automatic work was due by `now` and that no one flagged, the longest overdue first. */
  findStuck(now: Date, limit: number): Promise<StuckOrder[]>;
  /**
   * Queues a stuck order's work again: if the order is still at its version and still due at `now`,
   * pushes its due time to `nextDueAt` and adds `messages` to the outbox (a message id already there
   * is the same message), in one transaction. Answers false when the order moved on or another
   * sweeper took it.
   */
  requeue(order: StuckOrder, messages: readonly OutboxMessage[], nextDueAt: Date | null, now: Date): Promise<boolean>;

  /** Marks an order for a person to look at (its automatic work was dead-lettered); its next transition clears the mark. */
  flagOrder(orderId: string, reason: string, at: Date): Promise<void>;
  /**
   * Keeps dead-lettered work for operators to redrive or discard and flags its order, in one
   * transaction. The same message recorded twice (a broker's redelivery) is one dead letter.
   */
  recordDeadLetter(letter: DeadLetterWrite): Promise<void>;
  /**
   * Keeps one attempt of automatic work that did not end in a transition, for the operator's
   * timeline. The worker calls it only when an attempt does not apply, never on the success path.
   */
  recordWorkAttempt(attempt: WorkAttemptWrite): Promise<void>;
}
