import { distanceKm, fareCents } from '../apps/order-service/src/taxi/fares.js';
import { toTransitionView } from '../apps/order-service/src/orders/order-views.js';
import { DROPOFF, PICKUP, TO_FEE_CONFIRMED, activeRideOf, advance, createOrder, newPassenger, postOrder, sendEvent, transitionsOf, uid } from './support/taxi-client.js';
import { asCaller } from './support/callers.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { sql } from './support/database.js';

// The same engine and processors on both: MariaDB (or PostgreSQL), Redis and RabbitMQ, and the embedded SQLite with
// an in-process lock and queue.
describe.each(['external', 'embedded'] as const)('a whole ride through REST (%s)', (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    // No worker: the ENTERPRISE ride is paid by hand here (the automatic payment has suites of its own).
    t = await startTestApp({ mode, workerEnabled: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['EXPRESS', 'APP', 'EXPRESS_WELCOME', 800 + 2000],
    ['TAXI', 'H5', 'TAXI_RED_ENVELOPE', 1300 + 2300],
    ['PREMIUM', 'ENTERPRISE', 'EXPRESS_WELCOME', 2000 + 4000],
  ])('%s@%s goes CREATED -> ... -> CLOSED with its own promotion and fare', async (bizCode, sceneId, promotion, fee) => {
    const passengerId = await newPassenger(t);
    const requestId = uid('create');
    const created = await postOrder(t, { bizCode, sceneId, passengerId, requestId });
    expect(created.status).toBe(201);
    const orderId = created.body.orderId;
    expect(created.body).toMatchObject({
      event: 'CREATE',
      fromState: 'INIT',
      toState: 'CREATED',
      version: 1,
      result: { promotion, estimatedPriceCents: fareCents(bizCode, distanceKm(PICKUP, DROPOFF)) },
      order: { orderId, state: 'CREATED', version: 1, bizCode, sceneId, data: { passengerId, pickup: PICKUP, dropoff: DROPOFF, promotion } },
    });

    const paymentId = uid('pay');
    const steps: Array<[string, Record<string, unknown>, string]> = [
      ['ACCEPT', { driverId: 'd-1' }, 'ACCEPTED'],
      ['ARRIVE', {}, 'ARRIVED'],
      ['START_TRIP', {}, 'IN_TRIP'],
      ['END_TRIP', { distanceKm: 10 }, 'TRIP_ENDED'],
      ['CONFIRM_FEE', {}, 'FEE_CONFIRMED'],
      ['PAY', { paymentId }, 'PAID'],
      ['CLOSE', {}, 'CLOSED'],
    ];
    let version = 1;
    for (const [event, payload, toState] of steps) {
      let body;
      if (sceneId === 'ENTERPRISE' && event === 'CLOSE') {
        // PAID's automatic work for ENTERPRISE rides: the system's alone, even with the worker off.
        const refused = await sendEvent(t, orderId, 'CLOSE');
        expect(refused.status).toBe(403);
        expect(refused.body).toMatchObject({ code: 'FORBIDDEN', details: { event: 'CLOSE', sender: 'client', allowed: ['system'] } });
        body = toTransitionView(await t.engine.sendEvent({ eventType: 'CLOSE', orderId, requestId: uid('close'), source: 'worker' }));
      } else {
        body = await advance(t, orderId, event, payload);
      }
      version += 1;
      expect(body).toMatchObject({ orderId, event, toState, version, order: { state: toState, version } });
      if (event === 'CONFIRM_FEE') expect(body.result).toEqual({ feeCents: fee });
      if (event === 'PAY') expect(body.result).toEqual({ paymentId, amountCents: fee });
      // The passenger's one unfinished ride until it is paid; freed in the transaction that pays it.
      expect(await activeRideOf(t.dataSource, passengerId)).toEqual(event === 'PAY' || event === 'CLOSE' ? [] : [orderId]);
    }

    const order = (await t.http().get(`/orders/${orderId}`).expect(200)).body;
    expect(order).toMatchObject({ orderId, state: 'CLOSED', version: 8, bizCode, sceneId });
    expect(order.data).toMatchObject({ driverId: 'd-1', distanceKm: 10, feeCents: fee, paymentId });
    expect(Date.parse(order.updatedAt)).toBeGreaterThanOrEqual(Date.parse(order.createdAt));

    const log = await transitionsOf(t, orderId);
    expect(log.map((e) => [e.version, e.event, e.fromState, e.toState])).toEqual([
      [1, 'CREATE', 'INIT', 'CREATED'],
      [2, 'ACCEPT', 'CREATED', 'ACCEPTED'],
      [3, 'ARRIVE', 'ACCEPTED', 'ARRIVED'],
      [4, 'START_TRIP', 'ARRIVED', 'IN_TRIP'],
      [5, 'END_TRIP', 'IN_TRIP', 'TRIP_ENDED'],
      [6, 'CONFIRM_FEE', 'TRIP_ENDED', 'FEE_CONFIRMED'],
      [7, 'PAY', 'FEE_CONFIRMED', 'PAID'],
      [8, 'CLOSE', 'PAID', 'CLOSED'],
    ]);
    expect(log[0]).toMatchObject({ requestId, source: 'api' });

    // save() wrote the payment in the transaction that moved the order.
    const payments = await sql(t.dataSource, 'SELECT order_id, kind, amount_cents FROM taxi_payment WHERE id = ?', [paymentId]);
    expect(payments).toEqual([{ order_id: orderId, kind: 'FARE', amount_cents: fee }]);

    // The ride is over: the passenger may order again.
    await createOrder(t, { passengerId });
  });

  it('keeps the order untouched when a transition is refused', async () => {
    const orderId = await createOrder(t);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd-2' });
    const before = (await t.http().get(`/orders/${orderId}`).expect(200)).body;
    const refused = await t.http().post(`/orders/${orderId}/events`).send({ event: 'END_TRIP', requestId: uid('r'), payload: { distanceKm: 3 } });
    expect(refused.status).toBe(409);
    expect((await t.http().get(`/orders/${orderId}`).expect(200)).body).toEqual(before);
    expect(await transitionsOf(t, orderId)).toHaveLength(2);
  });

  it("runs a processor's save() behind the fence: a stale PAY writes no payment", async () => {
    const orderId = await createOrder(t);
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, orderId, event, payload);
    const stale = (await t.engine.findOrder(orderId))!;
    await advance(t, orderId, 'PAY', { paymentId: uid('pay') });
    // The same PAY again on the order as it was read: its save() would insert this payment.
    const late = uid('pay');
    await expect(t.engine.sendEvent({ eventType: 'PAY', orderId, requestId: uid('r'), payload: { paymentId: late }, caller: asCaller('payment') }, stale)).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    expect(await sql(t.dataSource, 'SELECT id FROM taxi_payment WHERE id = ?', [late])).toEqual([]);
    expect((await t.http().get(`/orders/${orderId}`).expect(200)).body).toMatchObject({ state: 'PAID', version: stale.version + 1 });
  });
});
