import { derivedRequestId } from '@order-fsm/core';
import request from 'supertest';
import { deleteTopology, uniquePrefix, waitFor } from './support/broker.js';
import { bearer, callerName } from './support/callers.js';
import { TO_FEE_CONFIRMED, advance, createOrder, postOrder, sendEvent, transitionsOf, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { nextIdOf, sql } from './support/database.js';

/** Who may call, and what each caller may send: the service's trust boundary, on the real services. */
describe('callers and roles', () => {
  const prefix = uniquePrefix('callers');
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    // No worker and no timers firing on their own: the system's events are sent by hand here.
    t = await startTestApp({ amqpPrefix: prefix, workerEnabled: false, acceptTimeoutMs: 3_600_000 });
    const { port } = t.app.getHttpServer().address() as { port: number };
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  const snapshot = async (orderId: string) => ({
    order: (await t.http('operator').get(`/orders/${orderId}`).expect(200)).body,
    log: (await transitionsOf(t, orderId)).length,
  });

  it('answers 401 UNAUTHENTICATED without a token, or with one it does not know, on every route but liveness', async () => {
    for (const [method, path] of [
      ['get', '/orders/x'],
      ['post', '/orders'],
      ['get', '/metrics'],
      ['get', '/docs'],
      ['get', '/docs-json'],
      ['get', '/fsm/diagram'],
      ['get', '/health/ready'],
      ['get', '/no/such/route'],
    ] as const) {
      for (const authorization of [undefined, 'Bearer not-a-token', `Basic ${Buffer.from('a:b').toString('base64')}`, bearer('client').slice(0, -1)]) {
        const call = request(url)[method](path);
        const response = await (authorization ? call.set('Authorization', authorization) : call);
        expect([path, response.status, response.body.code]).toEqual([path, 401, 'UNAUTHENTICATED']);
        expect(response.headers['www-authenticate']).toBe('Bearer');
        expect(response.headers['x-content-type-options']).toBe('nosniff');
      }
    }
    const live = await request(url).get('/health').expect(200);
    expect(live.body).toEqual({ status: 'ok' });
  });

  it('keeps operations to operators: 403 FORBIDDEN for other roles', async () => {
    for (const path of ['/metrics', '/fsm/diagram', '/fsm/validation', '/health/ready']) {
      const refused = await t.http('client').get(path);
      expect([path, refused.status, refused.body.code]).toEqual([path, 403, 'FORBIDDEN']);
      expect((await t.http('operator').get(path)).status).toBe(200);
    }
    expect((await t.http('payment').put('/passengers/p-x').send({ name: 'x' })).status).toBe(403);
    expect((await t.http('client').get('/docs-json')).status).toBe(200);
  });

  it("refuses the system's events from any caller, and PAY from a client, with 403 and the order untouched", async () => {
    const created = await createOrder(t);
    const before = await snapshot(created);
    for (const who of ['client', 'payment', 'operator'] as const) {
      const refused = await sendEvent(t, created, 'ACCEPT_TIMEOUT', {}, { as: who });
      expect([who, refused.status, refused.body.code, refused.body.details?.allowed]).toEqual([who, 403, 'FORBIDDEN', ['system']]);
    }

    const pending = await createOrder(t);
    for (const [event, payload] of [['ACCEPT', { driverId: 'd' }], ['ARRIVE', {}], ['CANCEL', {}]] as const) await advance(t, pending, event, payload);
    const cancelled = await snapshot(pending);
    expect(cancelled.order.state).toBe('CANCEL_PENDING_PAYMENT');
    expect((await sendEvent(t, pending, 'PAYMENT_TIMEOUT', {}, { as: 'client' })).status).toBe(403);
    const fake = await sendEvent(t, pending, 'PAY', { paymentId: uid('fake') }, { as: 'client' });
    expect([fake.status, fake.body.code, fake.body.details]).toEqual([403, 'FORBIDDEN', expect.objectContaining({ sender: 'client', allowed: ['payment'] })]);

    const enterprise = await createOrder(t, { sceneId: 'ENTERPRISE' });
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, enterprise, event, payload);
    const confirmed = await snapshot(enterprise);
    for (const who of ['client', 'payment'] as const) expect((await sendEvent(t, enterprise, 'AUTO_PAY', {}, { as: who })).status).toBe(403);

    expect(await snapshot(created)).toEqual(before);
    expect(await snapshot(pending)).toEqual(cancelled);
    expect(await snapshot(enterprise)).toEqual(confirmed);
    const [payments] = await sql(t.dataSource, 'SELECT COUNT(*) AS n FROM taxi_payment WHERE order_id IN (?, ?)', [pending, enterprise]);
    expect(Number(payments.n)).toBe(0);
  });

  it('lets the worker send only the automatic work of the order\'s state, and no caller name the system', async () => {
    const orderId = await createOrder(t);
    const before = await snapshot(orderId);
    await expect(t.engine.sendEvent({ eventType: 'ACCEPT_TIMEOUT', orderId, requestId: uid('w'), source: 'worker' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: "the worker sends only automatic work, and ACCEPT_TIMEOUT is not CREATED's",
    });
    await expect(
      t.engine.sendEvent({ eventType: 'ACCEPT', orderId, requestId: uid('r'), payload: { driverId: 'd' }, caller: { name: '@system', role: 'client' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'caller.name' } });
    expect(await snapshot(orderId)).toEqual(before);
  });

  it('records who sent each transition', async () => {
    const orderId = await createOrder(t);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
    const log = await transitionsOf(t, orderId);
    expect(log.map((e) => [e.event, e.source, e.caller])).toEqual([
      ['CREATE', 'api', callerName('client')],
      ['ACCEPT', 'api', callerName('client')],
    ]);
  });

  it("scopes request ids to their caller: another caller's id neither replays, nor refuses, nor tells", async () => {
    const requestId = uid('shared');
    const mine = await postOrder(t, { requestId });
    expect(mine.status).toBe(201);
    // The same id from another client is that client's own first use of it: a new order.
    const theirs = await postOrder({ http: () => t.http('client2') }, { requestId });
    expect(theirs.status).toBe(201);
    expect(theirs.body.orderId).not.toBe(mine.body.orderId);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    // Each replays its own.
    const again = await postOrder({ http: () => t.http('client2') }, { requestId, passengerId: theirs.body.order.data.passengerId });
    expect([again.status, again.body.orderId, again.headers['idempotent-replayed']]).toEqual([201, theirs.body.orderId, 'true']);

    // No oracle: an id another caller used and one nobody used answer alike on an order that does not exist.
    const onlyMine = uid('mine');
    await advance(t, mine.body.orderId, 'ACCEPT', { driverId: 'd' }, onlyMine);
    const used = await sendEvent({ http: () => t.http('client2') }, uid('missing'), 'ACCEPT', { driverId: 'd' }, { requestId: onlyMine });
    const unused = await sendEvent({ http: () => t.http('client2') }, uid('missing'), 'ACCEPT', { driverId: 'd' }, { requestId: uid('never') });
    expect([used.status, used.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    expect([unused.status, unused.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
  });
});

describe("the engine's own request ids", () => {
  const prefix = uniquePrefix('system-ids');
  let t: TestApp;
  beforeAll(async () => {
    // An accept timeout no ride could outlast on a slow machine: the timer test below makes its timer due itself.
    t = await startTestApp({ amqpPrefix: prefix, acceptTimeoutMs: 600_000, timerPollMs: 50, workerRetryDelaysMs: [100] });
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  it("still apply the worker's AUTO_PAY after a client sent the id it will use", async () => {
    const orderId = await createOrder(t, { sceneId: 'ENTERPRISE' });
    for (const [event, payload] of TO_FEE_CONFIRMED.slice(0, -1)) await advance(t, orderId, event, payload);
    // CONFIRM_FEE makes version 6; the worker then pays with the id derived from (orderId, 6).
    const guessed = derivedRequestId('auto', orderId, 6);
    const confirmed = await sendEvent(t, orderId, 'CONFIRM_FEE', {}, { requestId: guessed });
    expect(confirmed.status).toBe(200);
    await waitFor('CLOSED', async () => (await t.engine.findOrder(orderId))?.state === 'CLOSED', 30_000);
    const log = await transitionsOf(t, orderId);
    expect(log.slice(-3).map((e) => [e.event, e.requestId, e.caller])).toEqual([
      ['CONFIRM_FEE', guessed, callerName('client')],
      ['AUTO_PAY', guessed, '@system'],
      ['CLOSE', expect.stringMatching(/^auto:/), '@system'],
    ]);
  });

  it("still fire a timer after a client created an order with the timer's id", async () => {
    // The next timer row's id is the next AUTO_INCREMENT (or identity) value; the create below schedules it.
    const next = await nextIdOf(t.dataSource, 'fsm_timer');
    const guessed = derivedRequestId('timer', Number(next));
    const created = await postOrder(t, { requestId: guessed });
    expect(created.status).toBe(201);
    const orderId = created.body.orderId;
    await sql(t.dataSource, 'UPDATE fsm_timer SET fire_at = ? WHERE order_id = ?', [new Date(), orderId]);
    await waitFor('the system cancel', async () => (await t.engine.findOrder(orderId))?.state === 'CANCELLED');
    const [timer] = await sql(t.dataSource, 'SELECT id, outcome FROM fsm_timer WHERE order_id = ?', [orderId]);
    expect(timer.outcome).toBe('fired');
    const log = await transitionsOf(t, orderId);
    expect(log.map((e) => [e.event, e.caller])).toEqual([
      ['CREATE', callerName('client')],
      ['ACCEPT_TIMEOUT', '@system'],
    ]);
    if (Number(timer.id) === Number(next)) expect(log[1].requestId).toBe(guessed);
  });
});
