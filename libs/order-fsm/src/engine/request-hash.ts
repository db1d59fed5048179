import { hash } from 'node:crypto';
import type { FsmOrder } from '../model/order.js';
import type { OrderStateEvent } from '../model/event.js';

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/**
 * What makes two requests "the same request": the event and everything it carries. A create is
 * identified by its dimensions (its order id is generated), an event by the order it targets.
 */
export function requestHash(event: OrderStateEvent, newOrder?: FsmOrder): string {
  const identity = event.newCreate
    ? { kind: 'create', event: event.eventType, bizCode: newOrder?.bizCode, sceneId: newOrder?.sceneId, payload: event.payload }
    : {
        kind: 'event',
        event: event.eventType,
        orderId: event.orderId,
        orderState: event.orderState,
        expectedVersion: event.expectedVersion,
        payload: event.payload,
      };
  // crypto.hash: one call for one short text, without a Hash object (it runs for every event).
  return hash('sha256', canonicalJson(identity), 'hex');
}
