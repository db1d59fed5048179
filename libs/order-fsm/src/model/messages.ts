import type { FsmOrder } from './order.js';
import { createHash } from 'node:crypto';
import type { TransitionSource } from './event.js';
import type { LateOutcome } from './outcome.js';

/**
 * A span's context as message headers: W3C `traceparent` and, when there is one, `tracestate`
 * (and whatever else the tracer's propagators write, `baggage` say). Stored with an outbox row and
 * carried in the message's headers, so that whoever handles the message continues the trace.
 */
export type TraceCarrier = Readonly<Record<string, string>>;

/** A message that leaves through the outbox once its transition has committed. */
export interface OutboxMessage {
  /** Stable: consumers drop duplicates by it. `{orderId}:{version}` for status messages. */
  readonly messageId: string;
  readonly kind: 'status' | 'work';
  readonly routingKey: string;
  /** The message body, JSON. */
  readonly payload: string;
  /** The trace of the transaction that wrote it, when tracing is on: the message's headers carry it on. */
  readonly traceContext?: TraceCarrier;
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

/**
 * The body of a late-event message: an event that arrived in a state with no transition for it,
 * and what the machine's policy made of it (ignored, compensated with `result`, held; later
 * released, expired, compensated on expiry, or refused). Routed `bizCode.sceneId.late.event.status`.
 */
export interface LateEventMessage {
  readonly messageId: string;
  readonly type: 'late-event';
  readonly orderId: string;
  /** The order's version and state: when the event arrived, or, for a held event's ending, as the order was then. */
  readonly version: number;
  readonly state: string;
  readonly event: string;
  readonly bizCode: string;
  readonly sceneId: string;
  readonly requestId: string;
  readonly caller: string;
  readonly source: TransitionSource;
  readonly policy: LateOutcome['policy'];
  readonly status: LateOutcome['status'];
  readonly deadline?: string;
  /** A compensation's result (a refund to make, say). */
  readonly result?: unknown;
  /** How a held event ended: the transition it applied (`applied v7`), or why not. */
  readonly outcome?: string;
  readonly occurredAt: string;
}

export function lateOutboxMessage(
  order: Pick<FsmOrder, 'orderId' | 'version' | 'state' | 'bizCode' | 'sceneId'>,
  late: { event: string; requestId: string; caller: string; source: TransitionSource; at: Date; late: LateOutcome; result?: unknown; outcome?: string },
): OutboxMessage {
  // One message per late event and status: a request id (per caller) is consumed once.
  const id = createHash('sha256').update(`${late.caller}\u0000${late.requestId}`).digest('base64url');
  const body: LateEventMessage = {
    messageId: `${order.orderId}:late:${id}:${late.late.status}`,
    type: 'late-event',
    orderId: order.orderId,
    version: order.version,
    state: order.state,
    event: late.event,
    bizCode: order.bizCode,
    sceneId: order.sceneId,
    requestId: late.requestId,
    caller: late.caller,
    source: late.source,
    policy: late.late.policy,
    status: late.late.status,
    ...(late.late.deadline !== undefined && { deadline: late.late.deadline }),
    ...(late.result !== undefined && { result: late.result }),
    ...(late.outcome !== undefined && { outcome: late.outcome }),
    occurredAt: late.at.toISOString(),
  };
  return { messageId: body.messageId, kind: 'status', routingKey: `${order.bizCode}.${order.sceneId}.late.${late.event}.${late.late.status}`, payload: JSON.stringify(body) };
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
