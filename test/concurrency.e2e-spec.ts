import { createOrder, sendEvent, transitionsOf } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const CONFLICT_CODES = ['VERSION_CONFLICT', 'ORDER_STATE_NOT_MATCH', 'ORDER_BUSY'];

describe.each([
  ['with the Redis lock', true],
  ['with the lock switched off (the version fence alone)', false],
])('50 concurrent conflicting events on one order, %s', (_name, lockEnabled) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ lock: { enabled: lockEnabled } });
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([1, 2, 3])('round %i: exactly one applies, the rest get clean 409s, the log shows one transition', async () => {
    const orderId = await createOrder(t);
    // The driver accepts while the passenger cancels: each expects the order still CREATED.
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? sendEvent(t, orderId, 'ACCEPT', { driverId: `d-${i}` }, { expectedState: 'CREATED' })
          : sendEvent(t, orderId, 'CANCEL', {}, { expectedState: 'CREATED' }),
      ),
    );

    const applied = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status !== 200);
    expect(applied).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const response of refused) {
      expect(response.status).toBe(409);
      expect(CONFLICT_CODES).toContain(response.body.code);
    }

    const winner = applied[0].body;
    const log = await transitionsOf(t, orderId);
    expect(log.map((e) => [e.version, e.event])).toEqual([
      [1, 'CREATE'],
      [2, winner.event],
    ]);
    const order = (await t.http().get(`/orders/${orderId}`).expect(200)).body;
    expect(order).toMatchObject({ state: winner.toState, version: 2 });
  });
});
