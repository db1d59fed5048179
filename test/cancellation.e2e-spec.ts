import { activeRideOf, advance, createOrder, newPassenger, postOrder, sendEvent, transitionsOf, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { sql } from './support/database.js';

// The same engine and processors on both: MariaDB (or PostgreSQL), Redis and RabbitMQ, and the embedded SQLite with
// an in-process lock and queue.
describe.each(['external', 'embedded'] as const)('cancellation (%s)', (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ mode });
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['CREATED', []],
    ['ACCEPTED', [['ACCEPT', { driverId: 'd-1' }]]],
  ] as const)('is free from %s: straight to CANCELLED, and the passenger may order again', async (_state, before) => {
    const passengerId = await newPassenger(t);
    const orderId = await createOrder(t, { passengerId });
    for (const [event, payload] of before) await advance(t, orderId, event, payload);

    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([orderId]);
    const body = await advance(t, orderId, 'CANCEL', {});
    expect(body).toMatchObject({ toState: 'CANCELLED', result: { cancellationFeeCents: 0 } });
    // Freed in the transaction that cancelled it.
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([]);
    await createOrder(t, { passengerId });
  });

  it('costs a fee once the driver has arrived: CANCEL_PENDING_PAYMENT until paid, then CANCELLED', async () => {
    const passengerId = await newPassenger(t);
    const orderId = await createOrder(t, { bizCode: 'TAXI', passengerId });
    await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    await advance(t, orderId, 'ARRIVE');

    const cancelled = await advance(t, orderId, 'CANCEL');
    expect(cancelled).toMatchObject({ fromState: 'ARRIVED', toState: 'CANCEL_PENDING_PAYMENT', result: { cancellationFeeCents: 300 } });

    // Still unfinished: the passenger owes the fee.
    const blocked = await postOrder(t, { passengerId });
    expect(blocked.status).toBe(422);
    expect(blocked.body.details.reason).toBe('PASSENGER_HAS_UNFINISHED_ORDER');
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([orderId]);

    const paymentId = uid('fee');
    const paid = await advance(t, orderId, 'PAY', { paymentId });
    expect(paid).toMatchObject({ fromState: 'CANCEL_PENDING_PAYMENT', toState: 'CANCELLED', result: { paymentId, amountCents: 300 } });
    const payments = await sql(t.dataSource, 'SELECT kind, amount_cents FROM taxi_payment WHERE id = ?', [paymentId]);
    expect(payments).toEqual([{ kind: 'CANCELLATION_FEE', amount_cents: 300 }]);
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([]);

    expect((await transitionsOf(t, orderId)).map((e) => e.toState)).toEqual([
      'CREATED',
      'ACCEPTED',
      'ARRIVED',
      'CANCEL_PENDING_PAYMENT',
      'CANCELLED',
    ]);
    await createOrder(t, { passengerId });
  });

  it('is not possible once the trip has started', async () => {
    const orderId = await createOrder(t);
    for (const [event, payload] of [
      ['ACCEPT', { driverId: 'd' }],
      ['ARRIVE', {}],
      ['START_TRIP', {}],
    ] as const) {
      await advance(t, orderId, event, payload);
    }
    const response = await sendEvent(t, orderId, 'CANCEL');
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'NOT_FOUND_PROCESSOR', details: { state: 'IN_TRIP', event: 'CANCEL' } });
  });

  it('records a payment id once: paying with a used id is refused and changes nothing', async () => {
    const paymentId = uid('pay');
    const finish = async (orderId: string) => {
      for (const [event, payload] of [
        ['ACCEPT', { driverId: 'd' }],
        ['ARRIVE', {}],
        ['START_TRIP', {}],
        ['END_TRIP', { distanceKm: 1 }],
        ['CONFIRM_FEE', {}],
      ] as const) {
        await advance(t, orderId, event, payload);
      }
    };
    const first = await createOrder(t);
    const second = await createOrder(t);
    await finish(first);
    await finish(second);
    await advance(t, first, 'PAY', { paymentId });
    const reused = await sendEvent(t, second, 'PAY', { paymentId });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ code: 'CHECK_FAILED', details: { reason: 'PAYMENT_ALREADY_RECORDED', step: 'save' } });
    const order = (await t.http().get(`/orders/${second}`).expect(200)).body;
    expect(order).toMatchObject({ state: 'FEE_CONFIRMED', version: 6 });
    expect(order.data.paymentId).toBeUndefined();
  });
});
