import { createHash } from 'node:crypto';
import type { FsmOrder } from '../model/order.js';
import { canonicalJson, requestHash } from './request-hash.js';

// The hash is stored with every applied request and compared with a retry's: a retry sent after an
// upgrade must hash as it did before it, or an applied request would be refused as another one
// (IDEMPOTENCY_KEY_REUSED). These digests were taken from the release before crypto.hash.
const PAY = {
  eventType: 'PAY',
  orderId: 'o-1',
  requestId: 'r-1',
  orderState: 'ARRIVED',
  expectedVersion: 3,
  payload: { tip: [1, null, { b: 2, a: 1 }], note: 'café ☕', amount: 1250 },
};

describe('requestHash', () => {
  it('gives an event the digest earlier releases stored: SHA-256 of its canonical JSON, in hex', () => {
    expect(requestHash(PAY)).toBe('ee96add54a487a3243c3c5e88827b2b2e462517e1290e1106aa87ec34ad0ed2b');
    const text = canonicalJson({ kind: 'event', event: 'PAY', orderId: 'o-1', orderState: 'ARRIVED', expectedVersion: 3, payload: PAY.payload });
    expect(requestHash(PAY)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });

  it('gives a create the digest of its dimensions and payload, not of its generated order id', () => {
    const create = { eventType: 'CREATE', orderId: 'generated-1', requestId: 'r-2', newCreate: true, payload: {} };
    const order = { orderId: 'generated-1', bizCode: 'TAXI', sceneId: 'CITY' } as FsmOrder;
    expect(requestHash(create, order)).toBe('a7e43b53c0728472cc1a238e889a6d885fdebea84da58fc892021710c387dca2');
    expect(requestHash({ ...create, orderId: 'generated-2' }, { ...order, orderId: 'generated-2' })).toBe(requestHash(create, order));
  });

  it('tells apart requests that differ in anything they carry, and not by key order or the request id', () => {
    const base = requestHash(PAY);
    expect(requestHash({ ...PAY, requestId: 'r-other', payload: { amount: 1250, note: 'café ☕', tip: [1, null, { a: 1, b: 2 }] } })).toBe(base);
    for (const changed of [{ eventType: 'TIP' }, { orderId: 'o-2' }, { orderState: 'DONE' }, { expectedVersion: 4 }, { payload: { ...PAY.payload, amount: 1251 } }]) {
      expect(requestHash({ ...PAY, ...changed })).not.toBe(base);
    }
  });
});
