import type { FsmOrder, TransitionLogEntry, TransitionOutcome } from '@order-fsm/core';

export interface OrderView {
  orderId: string;
  state: string;
  version: number;
  bizCode: string;
  sceneId: string;
  data: Record<string, unknown>;
  createdAt?: Date;
  updatedAt?: Date;
  /** Present when the order's automatic work was dead-lettered: a person should look at it. */
  flag?: { at: Date; reason: string };
  /** Present while an operator has the order paused. */
  paused?: { at: Date; reason: string };
}

export const toOrderView = (order: FsmOrder): OrderView => ({
  orderId: order.orderId,
  state: order.state,
  version: order.version,
  bizCode: order.bizCode,
  sceneId: order.sceneId,
  data: order.data,
  createdAt: order.createdAt,
  updatedAt: order.updatedAt,
  ...(order.flag && { flag: order.flag }),
  ...(order.paused && { paused: order.paused }),
});

export const toTransitionView = (outcome: TransitionOutcome) => ({
  orderId: outcome.orderId,
  event: outcome.event,
  fromState: outcome.fromState,
  toState: outcome.toState,
  version: outcome.version,
  result: outcome.result ?? null,
  order: toOrderView(outcome.order),
  // An event that arrived late and was not refused: what the machine's policy made of it.
  ...(outcome.late && { late: outcome.late }),
  ...(outcome.ignored && { ignored: true }),
});

export const toLogView = (entry: TransitionLogEntry) => ({
  version: entry.version,
  event: entry.event,
  fromState: entry.fromState,
  toState: entry.toState,
  requestId: entry.requestId,
  source: entry.source,
  caller: entry.caller,
  actor: entry.actor,
  reason: entry.reason,
  createdAt: entry.createdAt,
});
