import type { OutboxMessage } from '../model/messages.js';
import type { FsmOrder } from '../model/order.js';
import type { OperatorActionWrite, TransitionLogEntry, WorkAttemptOutcome, LateEventRecord } from './order-store.js';

/** Which orders, in which order: every filter optional; the page after `after` when given. */
export interface OrderListQuery {
  readonly state?: string;
  readonly bizCode?: string;
  readonly sceneId?: string;
  /** Only orders last changed before this time. */
  readonly updatedBefore?: Date;
  /** Only paused orders (true), or only orders that are not (false). */
  readonly paused?: boolean;
  /** Only these orders. */
  readonly orderIds?: readonly string[];
  /** Only orders that follow this version of the machine. */
  readonly machineVersion?: number;
  /** By (updatedAt, orderId): newest first (`desc`), or oldest first. */
  readonly order: 'asc' | 'desc';
  /** The keyset of the last order of the previous page. */
  readonly after?: { readonly updatedAt: Date; readonly orderId: string };
  readonly limit: number;
}

/** An order as an operator lists it: the order, and when its automatic work is due (null when it has none). */
export interface ListedOrder extends FsmOrder {
  readonly autoDueAt: Date | null;
}

/** One row of the operators' audit. */
export interface OperatorAction extends OperatorActionWrite {
  readonly id: number;
}

/** An outbox row of one order: a status message or a piece of automatic work, and whether it left. */
export interface OrderMessage {
  readonly id: number;
  readonly messageId: string;
  readonly kind: OutboxMessage['kind'];
  readonly version: number;
  readonly routingKey: string;
  readonly createdAt: Date;
  /** Null while the relay has not published it. Published rows are purged after the relay's retention. */
  readonly publishedAt: Date | null;
}

/** A durable timer of one order, as stored. */
export interface OrderTimer {
  readonly id: number;
  readonly version: number;
  readonly state: string;
  readonly event: string;
  readonly fireAt: Date;
  readonly firedAt: Date | null;
  /** `fired`, `replayed`, `moved-on`, an error code; `paused` while held back by a pause; null while pending. */
  readonly outcome: string | null;
}

export type DeadLetterStatus = 'dead' | 'redriven' | 'discarded';

export interface DeadLetter {
  readonly id: number;
  readonly messageId: string;
  readonly orderId: string;
  /** The version and state the work was queued for. */
  readonly version: number;
  readonly state: string;
  readonly event: string;
  readonly reason: string;
  readonly attempts: number;
  readonly createdAt: Date;
  /** `dead` until an operator redrives it (and it applies, or finds nothing left to do) or discards it. */
  readonly status: DeadLetterStatus;
  readonly settledAt: Date | null;
  readonly settledBy: string | null;
  readonly settleReason: string | null;
  /** What the last redrive found, or null. */
  readonly outcome: string | null;
}

export interface DeadLetterQuery {
  readonly status?: DeadLetterStatus;
  readonly ids?: readonly number[];
  readonly orderIds?: readonly string[];
  readonly event?: string;
  /** Newest first: the page of letters with smaller ids than this. */
  readonly beforeId?: number;
  readonly limit: number;
}

/** What an operator decided about a dead letter. `dead` keeps it open (a redrive that failed) with its outcome. */
export interface DeadLetterSettlement {
  readonly status: DeadLetterStatus;
  readonly outcome: string | null;
  readonly actor: string;
  readonly reason: string;
  readonly at: Date;
}

/** How many orders are in a state, for one bizCode@sceneId. */
export interface StateCount {
  readonly state: string;
  readonly bizCode: string;
  readonly sceneId: string;
  readonly count: number;
}

/** Orders with unpublished messages: how many, and since when the oldest waits. */
export interface UnpublishedBacklog {
  readonly orderId: string;
  readonly count: number;
  readonly oldestCreatedAt: Date;
}

/** An attempt of automatic work on one order that did not end in a transition, as stored. */
export interface WorkAttempt {
  readonly id: number;
  /** The version and state the work was queued for. */
  readonly version: number;
  readonly state: string;
  readonly event: string;
  readonly attempt: number;
  readonly outcome: WorkAttemptOutcome;
  readonly errorCode: string;
  readonly message: string;
  readonly retryAt: Date | null;
  readonly at: Date;
}

/** Everything stored about one order, oldest first in each list. */
export interface OrderHistory {
  readonly transitions: readonly TransitionLogEntry[];
  readonly messages: readonly OrderMessage[];
  readonly timers: readonly OrderTimer[];
  readonly deadLetters: readonly DeadLetter[];
  readonly actions: readonly OperatorAction[];
  /** Attempts of automatic work that did not apply (an attempt that applied is a transition). */
  readonly workAttempts: readonly WorkAttempt[];
  /** Events that arrived late, and what the machine's policy made of them (ignored, held, compensated...). */
  readonly lateEvents: readonly LateEventRecord[];
}

/** Queueing an order's automatic work again as it is resumed. */
export interface Requeue {
  readonly messages: readonly OutboxMessage[];
  /** When the sweeper should queue it again; null when its state has no automatic work. */
  readonly autoDueAt: Date | null;
}

/**
 * What the operator API asks of the store, besides the OrderStore: reads for lists and timelines,
 * the pause and its audit. The SQL stores (MySQL, PostgreSQL, SQLite) have it; the contract suite
 * (test/store-contract.e2e-spec.ts) says what each must do.
 */
export interface OpsStore {
  /** Orders by (updatedAt, orderId), keyset-paginated, over indexes. */
  listOrders(query: OrderListQuery): Promise<ListedOrder[]>;
  /** Transitions, messages, timers, dead letters, operators' acts and work attempts that did not apply of one order, up to `limit` of each (the latest). */
  orderHistory(orderId: string, limit: number): Promise<OrderHistory>;
  /**
   * Pauses the order if it is still at `version` and not paused, with its audit row, in one
   * transaction; answers false (and writes nothing) otherwise.
   */
  pauseOrder(order: { readonly orderId: string; readonly version: number }, action: OperatorActionWrite): Promise<boolean>;
  /**
   * Resumes the order if it is still at `version` and paused, in one transaction: its automatic
   * work queued again (`requeue`), its timers held back by the pause due at once, its audit row.
   * Answers false (and writes nothing) otherwise.
   */
  resumeOrder(order: { readonly orderId: string; readonly version: number }, action: OperatorActionWrite, requeue: Requeue, now: Date): Promise<boolean>;
  /** Writes an audit row of its own (an act that wrote no transition). */
  recordOperatorAction(action: OperatorActionWrite): Promise<void>;
  /** Orders in `states`, per state and bizCode@sceneId. */
  countOrders(states: readonly string[]): Promise<StateCount[]>;
  /** Orders whose automatic work was due by `now`, flagged and paused ones too, the longest overdue first. */
  findOverdue(now: Date, limit: number): Promise<ListedOrder[]>;
  /** Orders with messages unpublished since before `before`, the longest waiting first. */
  findUnpublished(before: Date, limit: number): Promise<UnpublishedBacklog[]>;
  /** Dead letters, newest first. */
  listDeadLetters(query: DeadLetterQuery): Promise<DeadLetter[]>;
  /**
   * Settles a dead letter that is still `dead`, with its audit row, in one transaction; answers
   * false (and writes nothing) when it is not dead any more.
   */
  settleDeadLetter(id: number, settlement: DeadLetterSettlement, action: OperatorActionWrite | null): Promise<boolean>;
}

/** True when the store has what the operator API needs. */
export function isOpsStore(store: unknown): store is OpsStore {
  const s = store as Partial<Record<keyof OpsStore, unknown>> | null;
  return (
    !!s &&
    (['listOrders', 'orderHistory', 'pauseOrder', 'resumeOrder', 'recordOperatorAction', 'countOrders', 'findOverdue', 'findUnpublished', 'listDeadLetters', 'settleDeadLetter'] as const).every(
      (name) => typeof s[name] === 'function',
    )
  );
}
