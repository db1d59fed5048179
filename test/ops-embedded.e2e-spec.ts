import { waitFor } from './support/broker.js';
import { callerName } from './support/callers.js';
import { advance, createOrder, transitionsOf } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * The operator API on the embedded service (SQLite, in-process queue), with its relay off: the
 * same endpoints on the other store, and what the stuck list says of messages that never leave.
 */
describe('the operator API, embedded, with no relay publishing', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ mode: 'embedded', relayEnabled: false, workerEnabled: false, sweeperEnabled: false });
  });
  afterAll(async () => {
    await t.close();
  });
  const ops = () => t.http('operator');

  it('lists an order whose messages wait unpublished as stuck, saying so', async () => {
    const orderId = await createOrder(t);
    const asOf = await waitFor('the order to be stuck', async () => {
      const body = (await ops().get('/ops/stuck').query({ unpublishedOlderThanMs: '0' }).expect(200)).body;
      return body.items.find((item: { order: { orderId: string } }) => item.order.orderId === orderId) && body;
    });
    const item = asOf.items.find((i: { order: { orderId: string } }) => i.order.orderId === orderId);
    expect(item.reasons).toEqual([{ kind: 'unpublished-messages', since: expect.any(String), detail: expect.stringContaining('1 message(s) not published') }]);
    // Within the threshold it is not stuck.
    const fresh = (await ops().get('/ops/stuck').query({ unpublishedOlderThanMs: '3600000' }).expect(200)).body;
    expect(fresh.items.map((i: { order: { orderId: string } }) => i.order.orderId)).not.toContain(orderId);
    const d = (await ops().get(`/ops/orders/${orderId}`).expect(200)).body;
    expect(d.messages).toEqual([expect.objectContaining({ messageId: `${orderId}:1`, kind: 'status', published: false, publishedAt: null })]);
  });

  it('pages, forces, pauses and resumes on SQLite as on MariaDB', async () => {
    const orderIds = [await createOrder(t), await createOrder(t), await createOrder(t)];
    const first = (await ops().get('/ops/orders').query({ state: 'CREATED', limit: '2' }).expect(200)).body;
    expect(first.items.map((i: { orderId: string }) => i.orderId)).toEqual([orderIds[2], orderIds[1]]);
    const second = (await ops().get('/ops/orders').query({ state: 'CREATED', limit: '2', cursor: first.nextCursor }).expect(200)).body;
    expect(second.items[0].orderId).toBe(orderIds[0]);

    await ops().post(`/ops/orders/${orderIds[0]}/pause`).send({ reason: 'look' }).expect(200);
    const refused = await t.http().post(`/orders/${orderIds[0]}/events`).send({ event: 'ACCEPT', requestId: 'r-embedded', payload: { driverId: 'd' } });
    expect([refused.status, refused.body.code]).toEqual([409, 'ORDER_PAUSED']);
    await ops().post(`/ops/orders/${orderIds[0]}/force`).send({ toState: 'ACCEPTED', reason: 'driver on the phone' }).expect(200);
    await ops().post(`/ops/orders/${orderIds[0]}/resume`).send({ reason: 'done looking' }).expect(200);
    await advance(t, orderIds[0]!, 'ARRIVE');
    expect((await transitionsOf(t, orderIds[0]!)).map((e) => [e.event, e.source, (e as { actor?: string }).actor])).toEqual([
      ['CREATE', 'api', callerName('client')],
      ['@force', 'operator', callerName('operator')],
      ['ARRIVE', 'api', callerName('client')],
    ]);
    const counts = (await ops().get('/ops/counts').expect(200)).body;
    expect(counts.states.ARRIVED).toBeGreaterThanOrEqual(1);
  });
});
