import type { FsmOrder } from './order.js';
import type { TransitionSource } from './event.js';

/** A message that leaves through the outbox once its transition has committed. */
export interface OutboxMessage {
  /** Stable: consumers drop duplicates by it. `{orderId}:{version}` for status messages. */
  readonly messageId: string;
  readonly kind: 'status' | 'work';
  readonly routingKey: string;
  /** The message body, JSON. */
  readonly payload: string;
}

/** The body of a status message: the transition, and a snapshot of the order after it. */
export interface StatusMessage {
  readonly messageId: string;
  readonly orderId: string;
  readonly version: number;
  readonly event: string;
  readonly fromState: string;
  readonly toState: string;
  readonly bizCode: string;
  readonly sceneId: string;
  readonly requestId: string;
  /** Whose request id it is (request ids are unique per caller): `@system` for the engine's own. */
  readonly caller: string;
  readonly source: TransitionSource;
  /** When an operator acted (forced it, sent it, redrove it): who, and why. */
  readonly actor?: string;
  readonly reason?: string;
  readonly occurredAt: string;
  /** The machine version the order follows after the transition. */
  readonly machineVersion: number;
  readonly order: Pick<FsmOrder, 'orderId' | 'state' | 'version' | 'bizCode' | 'sceneId' | 'data'>;
}

/** The body of a work message: send `event` to the order if it is still in `state` at `version`. */
export interface WorkMessage {
  readonly messageId: string;
  readonly orderId: string;
  readonly version: number;
  readonly state: string;
  readonly event: string;
  /** What queued it: a transition, the sweeper, or an operator's resume. */
  readonly origin: 'transition' | 'sweeper' | 'resume';
}

export const statusMessageId = (orderId: string, version: number) => `${orderId}:${version}`;

/** Topic routing key of a status message: `bizCode.sceneId.event.toState`. */
export const statusRoutingKey = (m: Pick<StatusMessage, 'bizCode' | 'sceneId' | 'event' | 'toState'>) =>
  `${m.bizCode}.${m.sceneId}.${m.event}.${m.toState}`;

export const WORK_ROUTING_KEY = 'work';

export function statusOutboxMessage(
  order: FsmOrder,
  transition: { event: string; fromState: string; requestId: string; caller: string; source: TransitionSource; at: Date; actor?: string; reason?: string },
): OutboxMessage {
  const body: StatusMessage = {
    messageId: statusMessageId(order.orderId, order.version),
    orderId: order.orderId,
    version: order.version,
    event: transition.event,
    fromState: transition.fromState,
    toState: order.state,
    bizCode: order.bizCode,
    sceneId: order.sceneId,
    requestId: transition.requestId,
    caller: transition.caller,
    source: transition.source,
    ...(transition.actor !== undefined && { actor: transition.actor, reason: transition.reason }),
    occurredAt: transition.at.toISOString(),
    machineVersion: order.machineVersion ?? 1,
    order: { orderId: order.orderId, state: order.state, version: order.version, bizCode: order.bizCode, sceneId: order.sceneId, data: order.data },
  };
  return { messageId: body.messageId, kind: 'status', routingKey: statusRoutingKey(body), payload: JSON.stringify(body) };
}

export function workOutboxMessage(
  order: { orderId: string; version: number; state: string },
  event: string,
  origin: WorkMessage['origin'],
  nonce = '',
): OutboxMessage {
  const body: WorkMessage = {
    messageId: `${order.orderId}:${order.version}:work${nonce && `:${nonce}`}`,
    orderId: order.orderId,
    version: order.version,
    state: order.state,
    event,
    origin,
  };
  return { messageId: body.messageId, kind: 'work', routingKey: WORK_ROUTING_KEY, payload: JSON.stringify(body) };
}
