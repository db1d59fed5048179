import type { FsmOrder } from '../model/order.js';
import type { TransitionOutcome } from '../model/outcome.js';
import type { DeadLetter, ListedOrder, OperatorAction, OrderMessage, OrderTimer, WorkAttempt } from '../ports/ops-store.js';
import type { LateEventRecord, TransitionLogEntry } from '../ports/order-store.js';

/** The JSON the operator API answers: the contract the console and operators' scripts rely on (docs/OPERATIONS.md). */

export interface OrderSummaryView {
  orderId: string;
  state: string;
  version: number;
  /** The version of the machine whose rules it follows. */
  machineVersion: number;
  bizCode: string;
  sceneId: string;
  createdAt: string | null;
  updatedAt: string | null;
  /** When its automatic work is due (the sweeper queues it again after that); null when it has none. */
  autoDueAt: string | null;
  paused: { at: string; reason: string } | null;
  /** Its automatic work was dead-lettered: a person should look at it. */
  flag: { at: string; reason: string } | null;
}

/** A time as JSON. A replayed answer's order was read back from JSON: its times are text already. */
const iso = (date: Date | string | null | undefined): string | null => (date == null ? null : typeof date === 'string' ? date : date.toISOString());
const mark = (value: { at: Date | string; reason: string } | undefined) => (value ? { at: iso(value.at)!, reason: value.reason } : null);

export function orderSummaryView(order: FsmOrder & { autoDueAt?: Date | null }): OrderSummaryView {
  return {
    orderId: order.orderId,
    state: order.state,
    version: order.version,
    machineVersion: order.machineVersion ?? 1,
    bizCode: order.bizCode,
    sceneId: order.sceneId,
    createdAt: iso(order.createdAt),
    updatedAt: iso(order.updatedAt),
    autoDueAt: iso(order.autoDueAt),
    paused: mark(order.paused),
    flag: mark(order.flag),
  };
}

export const orderView = (order: ListedOrder) => ({ ...orderSummaryView(order), data: order.data });

export const transitionView = (entry: TransitionLogEntry) => ({
  version: entry.version,
  event: entry.event,
  fromState: entry.fromState,
  toState: entry.toState,
  requestId: entry.requestId,
  source: entry.source,
  caller: entry.caller,
  actor: entry.actor,
  reason: entry.reason,
  createdAt: entry.createdAt.toISOString(),
  machineVersion: entry.machineVersion,
  processor: entry.processor,
});

export const lateEventView = (late: LateEventRecord) => ({
  id: late.id,
  version: late.version,
  state: late.state,
  event: late.event,
  requestId: late.requestId,
  caller: late.caller,
  source: late.source,
  policy: late.policy,
  status: late.status,
  deadline: iso(late.deadline),
  settledAt: iso(late.settledAt),
  outcome: late.outcome,
  createdAt: late.createdAt.toISOString(),
});

export const messageView = (message: OrderMessage) => ({
  id: message.id,
  messageId: message.messageId,
  kind: message.kind,
  version: message.version,
  routingKey: message.routingKey,
  createdAt: message.createdAt.toISOString(),
  published: message.publishedAt !== null,
  publishedAt: iso(message.publishedAt),
});

/** pending, held (by a pause), fired, cancelled (the order moved on before it fired), or failed (refused: `outcome` is the code). */
export type TimerStatus = 'pending' | 'held' | 'fired' | 'cancelled' | 'failed';

/**
 * A timer's status. One not fired yet whose order has moved past the version that scheduled it is
 * `cancelled` already: it fires only at that version, so when it comes due it is dropped
 * (`moved-on`); until then its row still says it is waiting, which would read as a timer to come.
 */
export function timerStatus(timer: OrderTimer, orderVersion?: number): TimerStatus {
  if (timer.firedAt === null && orderVersion !== undefined && timer.version < orderVersion) return 'cancelled';
  if (timer.firedAt === null) return timer.outcome === 'paused' ? 'held' : 'pending';
  if (timer.outcome === 'fired' || timer.outcome === 'replayed') return 'fired';
  if (timer.outcome === 'moved-on') return 'cancelled';
  return 'failed';
}

export const timerView = (timer: OrderTimer, orderVersion?: number) => ({
  id: timer.id,
  version: timer.version,
  state: timer.state,
  event: timer.event,
  fireAt: timer.fireAt.toISOString(),
  firedAt: iso(timer.firedAt),
  status: timerStatus(timer, orderVersion),
  outcome: timer.outcome,
});

export const deadLetterView = (letter: DeadLetter) => ({
  id: letter.id,
  messageId: letter.messageId,
  orderId: letter.orderId,
  version: letter.version,
  state: letter.state,
  event: letter.event,
  reason: letter.reason,
  attempts: letter.attempts,
  createdAt: letter.createdAt.toISOString(),
  status: letter.status,
  settledAt: iso(letter.settledAt),
  settledBy: letter.settledBy,
  settleReason: letter.settleReason,
  outcome: letter.outcome,
});

/** An attempt of automatic work that did not apply: what it found, and when it comes again (null when it does not). */
export const workAttemptView = (attempt: WorkAttempt) => ({
  id: attempt.id,
  version: attempt.version,
  state: attempt.state,
  event: attempt.event,
  attempt: attempt.attempt,
  outcome: attempt.outcome,
  errorCode: attempt.errorCode,
  message: attempt.message,
  at: attempt.at.toISOString(),
  retryAt: iso(attempt.retryAt),
});

export const actionView = (action: OperatorAction) => ({
  id: action.id,
  kind: action.kind,
  actor: action.actor,
  reason: action.reason,
  at: action.at.toISOString(),
  detail: action.detail ?? null,
});

/** What a transition answered: the same shape as the service's own REST answers. */
export const outcomeView = (outcome: TransitionOutcome) => ({
  orderId: outcome.orderId,
  event: outcome.event,
  fromState: outcome.fromState,
  toState: outcome.toState,
  version: outcome.version,
  replayed: outcome.replayed === true,
  result: outcome.result ?? null,
  order: orderSummaryView(outcome.order),
});
