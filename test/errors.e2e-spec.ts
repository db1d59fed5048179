import type { Redis } from 'ioredis';
import { advance, createOrder, newPassenger, postOrder, sendEvent, transitionsOf, uid } from './support/taxi-client.js';
import { startTestApp, testRedis, type TestApp } from './support/test-app.js';
import { Gate, testMachine, TestProcessorsModule } from './support/test-processors.js';
import { asCaller } from './support/callers.js';
import { sql } from './support/database.js';

const withTestProcessors = { modules: [TestProcessorsModule], machine: testMachine };

/** The state of an order as the database holds it, row for row. */
async function snapshot(t: TestApp, orderId: string) {
  const [order] = await sql(t.dataSource, 'SELECT * FROM fsm_order WHERE id = ?', [orderId]);
  const log = await sql(t.dataSource, 'SELECT * FROM fsm_transition WHERE order_id = ? ORDER BY version', [orderId]);
  return { order, log };
}

describe('every error answers with its code and status', () => {
  let t: TestApp;
  let redis: Redis;
  beforeAll(async () => {
    t = await startTestApp({ lock: { waitMs: 150 } }, withTestProcessors);
    redis = testRedis();
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  describe('VALIDATION_FAILED (400)', () => {
    it.each([
      ['malformed JSON', (h: TestApp['http']) => h().post('/orders').set('content-type', 'application/json').send('{"requestId": ')],
      ['missing fields', (h: TestApp['http']) => h().post('/orders').send({ requestId: 'r-1' })],
      ['an unknown field', (h: TestApp['http']) => h().post('/orders').send({ requestId: 'r', bizCode: 'EXPRESS', sceneId: 'APP', payload: {}, extra: 1 })],
      ['an unknown bizCode', (h: TestApp['http']) => h().post('/orders').send({ requestId: 'r', bizCode: 'BIKE', sceneId: 'APP', payload: {} })],
      ['a payload that is not an object', (h: TestApp['http']) => h().post('/orders').send({ requestId: 'r', bizCode: 'TAXI', sceneId: 'APP', payload: 'x' })],
      ['a request id of 65 characters', (h: TestApp['http']) => h().post('/orders').send({ requestId: 'r'.repeat(65), bizCode: 'TAXI', sceneId: 'APP', payload: {} })],
      ['an empty event', (h: TestApp['http']) => h().post('/orders/o-1/events').send({ event: '', requestId: 'r' })],
      ['an event that is a number', (h: TestApp['http']) => h().post('/orders/o-1/events').send({ event: 7, requestId: 'r' })],
      ['an order id of 65 characters', (h: TestApp['http']) => h().get(`/orders/${'x'.repeat(65)}`)],
      ['an order id with a quote', (h: TestApp['http']) => h().get(`/orders/${encodeURIComponent("a'b")}`)],
    ])('%s', async (_name, send) => {
      const response = await send(t.http);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', message: expect.any(String) });
    });
  });

  it('UNSUPPORTED_MEDIA_TYPE (415) for a body that is not JSON', async () => {
    const response = await t.http().post('/orders').set('content-type', 'text/plain').send('hello');
    expect(response.status).toBe(415);
    expect(response.body).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('application/json') });
  });

  it('PAYLOAD_TOO_LARGE (413) for a body over 64 KiB', async () => {
    const response = await t
      .http()
      .post('/orders')
      .send({ requestId: 'r', bizCode: 'TAXI', sceneId: 'APP', payload: { note: 'x'.repeat(70 * 1024) } });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('ORDER_NOT_FOUND (404) for an unknown order, on every route', async () => {
    const orderId = uid('missing');
    for (const response of [
      await t.http().get(`/orders/${orderId}`),
      await t.http().get(`/orders/${orderId}/transitions`),
      await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' }),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ statusCode: 404, code: 'ORDER_NOT_FOUND', message: `order ${orderId} does not exist`, details: { orderId } });
    }
  });

  it('ORDER_STATE_NOT_MATCH (409) when the expected state is not the order\'s', async () => {
    const orderId = await createOrder(t);
    const before = await snapshot(t, orderId);
    const response = await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' }, { expectedState: 'ARRIVED' });
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'ORDER_STATE_NOT_MATCH', details: { expectedState: 'ARRIVED', actualState: 'CREATED' } });
    expect(await snapshot(t, orderId)).toEqual(before);
    await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' }, { expectedState: 'CREATED' }).expect(200);
  });

  it('NOT_FOUND_PROCESSOR (409) for an event this state does not allow, and for an unknown event', async () => {
    const orderId = await createOrder(t);
    for (const event of ['PAY', 'FLY_TO_MOON']) {
      const response = await sendEvent(t, orderId, event);
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ code: 'NOT_FOUND_PROCESSOR', details: { state: 'CREATED', event } });
    }
  });

  it('ORDER_BUSY (409) when another holder keeps the order locked past the wait', async () => {
    const orderId = await createOrder(t);
    const key = `order-fsm:lock:${orderId}`;
    await redis.set(key, 'someone-else', 'PX', 10_000);
    try {
      const response = await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' });
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ code: 'ORDER_BUSY', details: { orderId } });
    } finally {
      await redis.del(key);
    }
    expect(await redis.get(key)).toBeNull();
    await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' }).expect(200);
  });

  it('not ORDER_BUSY for a request already applied: while a dead holder\'s lock lives, its retry is answered the replay', async () => {
    const passengerId = await newPassenger(t);
    const createId = uid('create');
    const created = await postOrder(t, { passengerId, requestId: createId });
    expect(created.status).toBe(201);
    const orderId = created.body.orderId;
    const acceptId = uid('accept');
    const accepted = await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' }, { requestId: acceptId }).expect(200);
    // As if the process that applied both had died before answering: its locks outlive it.
    const keys = [`order-fsm:lock:request#${createId}`, `order-fsm:lock:${orderId}`];
    for (const key of keys) await redis.set(key, 'a-dead-holder', 'PX', 10_000);
    try {
      const createAgain = await postOrder(t, { passengerId, requestId: createId });
      expect({ status: createAgain.status, replayed: createAgain.headers['idempotent-replayed'], body: createAgain.body }).toEqual({
        status: 201,
        replayed: 'true',
        body: created.body,
      });
      const acceptAgain = await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' }, { requestId: acceptId });
      expect({ status: acceptAgain.status, replayed: acceptAgain.headers['idempotent-replayed'], body: acceptAgain.body }).toEqual({
        status: 200,
        replayed: 'true',
        body: accepted.body,
      });
      // A request not applied yet still waits for the lock.
      const arrive = await sendEvent(t, orderId, 'ARRIVE');
      expect({ status: arrive.status, code: arrive.body.code }).toEqual({ status: 409, code: 'ORDER_BUSY' });
    } finally {
      await redis.del(...keys);
    }
  });

  it('CHECK_FAILED (422) with the checker\'s own code and message', async () => {
    const orderId = await createOrder(t);
    const response = await sendEvent(t, orderId, 'ACCEPT', { driverId: '' });
    expect(response.status).toBe(422);
    expect(response.body).toEqual({
      statusCode: 422,
      code: 'CHECK_FAILED',
      message: 'payload.driverId must be an id of 1 to 64 characters',
      details: { reason: 'INVALID_DRIVER_ID', step: 'param-check' },
    });
  });

  it('IDEMPOTENCY_KEY_REUSED (422) for a request id already consumed by a different request', async () => {
    const orderId = await createOrder(t);
    const requestId = uid('once');
    await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' }, { requestId }).expect(200);
    const again = await sendEvent(t, orderId, 'ARRIVE', {}, { requestId });
    expect(again.status).toBe(422);
    expect(again.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { requestId } });
    expect((await transitionsOf(t, orderId)).map((e) => e.event)).toEqual(['CREATE', 'ACCEPT']);
  });

  it('FOUND_MORE_PROCESSOR (500) when two filters accept the same event, naming both', async () => {
    const orderId = await createOrder(t);
    const response = await sendEvent(t, orderId, 'TEST_AMBIGUOUS');
    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({
      code: 'FOUND_MORE_PROCESSOR',
      details: { processors: ['AmbiguousOneProcessor', 'AmbiguousTwoProcessor'] },
    });
  });

  it('INTERNAL_ERROR (500) for a bug in a processor, with no stack or detail in the body', async () => {
    const orderId = await createOrder(t);
    const before = await snapshot(t, orderId);
    const response = await sendEvent(t, orderId, 'TEST_THROWS');
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ statusCode: 500, code: 'INTERNAL_ERROR', message: 'internal error' });
    expect(JSON.stringify(response.body)).not.toMatch(/secret|\.ts|at /);
    expect(await snapshot(t, orderId)).toEqual(before);
  });

  it('TRANSITION_NOT_DECLARED (500) when a processor picks a target the machine does not declare; the order is untouched', async () => {
    const orderId = await createOrder(t);
    const before = await snapshot(t, orderId);
    const response = await sendEvent(t, orderId, 'TEST_UNDECLARED');
    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({
      code: 'TRANSITION_NOT_DECLARED',
      details: { from: 'CREATED', event: 'TEST_UNDECLARED', to: 'CLOSED', processor: 'UndeclaredTargetProcessor' },
    });
    expect(await snapshot(t, orderId)).toEqual(before);
  });

  it('NOT_FOUND (404) for a route that does not exist', async () => {
    const response = await t.http().get('/nowhere');
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('VERSION_CONFLICT (409): the version fences a writer that read a stale order', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ lock: { enabled: false } }, withTestProcessors);
  });
  afterAll(async () => {
    await t.close();
  });

  it('through REST: the slow event loses to the one that committed while it ran, and writes nothing', async () => {
    const orderId = await createOrder(t);
    const gate = t.app.get(Gate);
    const reached = gate.arm();
    const slow = sendEvent(t, orderId, 'TEST_SLOW').then((r) => r);
    await reached; // TEST_SLOW has read the order at version 1 and is inside its template
    await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
    gate.open();
    const response = await slow;
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { orderId, expectedVersion: 1 } });
    const order = (await t.http().get(`/orders/${orderId}`).expect(200)).body;
    expect(order).toMatchObject({ state: 'ACCEPTED', version: 2 });
    expect(order.data.slow).toBeUndefined();
    expect((await transitionsOf(t, orderId)).map((e) => e.event)).toEqual(['CREATE', 'ACCEPT']);
  });

  it('in process: sendEvent with an order read before it moved', async () => {
    const orderId = await createOrder(t);
    const stale = (await t.engine.findOrder(orderId))!;
    await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
    await expect(
      t.engine.sendEvent({ eventType: 'CANCEL', orderId, requestId: uid('r'), caller: asCaller('client') }, stale),
    ).rejects.toMatchObject({ code: 'VERSION_CONFLICT', httpStatus: 409 });
    expect((await t.engine.findOrder(orderId))?.state).toBe('ACCEPTED');
  });
});

describe('VALIDATION_FAILED in process: what the engine takes from code, not only from REST', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses a source longer than the log keeps, on sendEvent and createOrder, and writes nothing', async () => {
    const orderId = await createOrder(t);
    const source = 'a-source-of-17-ch';
    await expect(t.engine.sendEvent({ eventType: 'CANCEL', orderId, requestId: uid('r'), source, caller: asCaller('client') })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      httpStatus: 400,
      details: { field: 'source' },
    });
    const newId = uid('o');
    await expect(t.engine.createOrder({ orderId: newId, requestId: uid('r'), bizCode: 'EXPRESS', sceneId: 'CITY', source, caller: asCaller('client') })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'source' },
    });
    expect(await t.engine.findOrder(newId)).toBeNull();
    expect((await transitionsOf(t, orderId)).map((e) => e.event)).toEqual(['CREATE']);
  });
});

describe('DEPENDENCY_UNAVAILABLE (503)', () => {
  let healthy: TestApp;
  let noRedis: TestApp;
  beforeAll(async () => {
    healthy = await startTestApp();
    // Nothing listens on port 1: Redis is down for this instance from the start.
    noRedis = await startTestApp({ redisUrl: 'redis://127.0.0.1:1', redisReadyTimeoutMs: 50 });
  });
  afterAll(async () => {
    await noRedis.close();
    await healthy.close();
  });

  it('answers 503 quickly, without hanging, when Redis is down, and leaves the order untouched', async () => {
    const orderId = await createOrder(healthy);
    const started = Date.now();
    const response = await sendEvent(noRedis, orderId, 'ACCEPT', { driverId: 'd' });
    expect(response.status).toBe(503);
    expect(response.body).toEqual({ statusCode: 503, code: 'DEPENDENCY_UNAVAILABLE', message: 'redis is unavailable; retry later', details: { dependency: 'redis' } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await healthy.http().get(`/orders/${orderId}`).expect(200)).body).toMatchObject({ state: 'CREATED', version: 1 });

    const create = await postOrder(noRedis, { passengerId: (await healthy.http().put(`/passengers/${uid('p')}`).send({ name: 'n' })).body.passengerId });
    expect(create.status).toBe(503);
  });
});

describe('bootstrap', () => {
  it('refuses to start when a processor handles an event the machine does not declare', async () => {
    // The test processors without the test machine: TEST_* are not declared by the taxi machine.
    await expect(startTestApp({}, { modules: [TestProcessorsModule] })).rejects.toThrow(
      /processor AmbiguousOneProcessor handles event TEST_AMBIGUOUS, which machine taxi does not declare/,
    );
  });
});
