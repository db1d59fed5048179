import { waitFor } from './support/broker.js';
import { asCaller } from './support/callers.js';
import { DROPOFF, PICKUP, activeRideOf, createOrder, newPassenger, postOrder, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { DATABASE_NAME, jsonText, lockWaitsOn, sql } from './support/database.js';

describe('choosing the processor', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['PICKUP', 'AIRPORT_PICKUP'],
    ['DROPOFF', 'AIRPORT_DROPOFF'],
  ])('AIRPORT %s is handled by the processor whose filter() accepts it', async (serviceType, promotion) => {
    const response = await postOrder(t, { sceneId: 'AIRPORT', bizCode: 'TAXI', payload: { serviceType } });
    expect(response.status).toBe(201);
    expect(response.body.order.data).toMatchObject({ airportService: serviceType, promotion });
  });

  it.each([['HELICOPTER'], [undefined]])('AIRPORT with serviceType %p is a CHECK_FAILED from the param checker', async (serviceType) => {
    const response = await postOrder(t, { sceneId: 'AIRPORT', payload: { serviceType } });
    expect(response.status).toBe(422);
    expect(response.body).toEqual({
      statusCode: 422,
      code: 'CHECK_FAILED',
      message: 'payload.serviceType must be PICKUP or DROPOFF for AIRPORT orders',
      details: { reason: 'INVALID_SERVICE_TYPE', step: 'param-check' },
    });
  });

  it('the TAXI processor inherits the express flow and overrides only the promotion', async () => {
    const response = await postOrder(t, { bizCode: 'TAXI', sceneId: 'APP' });
    expect(response.status).toBe(201);
    expect(response.body.result.promotion).toBe('TAXI_RED_ENVELOPE');
    expect(response.body.order.data.estimatedPriceCents).toBeGreaterThan(1300);
  });

  it('the estimated-price plugin prices every create by product', async () => {
    const express = await postOrder(t, { bizCode: 'EXPRESS' });
    const premium = await postOrder(t, { bizCode: 'PREMIUM' });
    expect(premium.body.result.estimatedPriceCents).toBeGreaterThan(express.body.result.estimatedPriceCents);
  });

  it('rejects an invalid pickup in the param checker, before anything else runs', async () => {
    const response = await postOrder(t, { payload: { pickup: { lat: 91, lng: 0 } } });
    expect(response.status).toBe(422);
    expect(response.body.details).toEqual({ reason: 'INVALID_PICKUP', step: 'param-check' });
  });
});

const REFUSED = { code: 'CHECK_FAILED', message: expect.stringMatching(/already has an unfinished ride$/), details: { reason: 'PASSENGER_HAS_UNFINISHED_ORDER' } };

// The same processors on both: the passenger's row is written in the create's transaction on MariaDB
// (or PostgreSQL) and on the embedded SQLite alike.
describe.each(['external', 'embedded'] as const)('one unfinished ride per passenger (%s)', (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ mode });
  });
  afterAll(async () => {
    await t.close();
  });

  it('records the ride with the create, in its transaction, and refuses a second order', async () => {
    const passengerId = await newPassenger(t);
    const orderId = await createOrder(t, { passengerId });
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([orderId]);
    const second = await postOrder(t, { passengerId });
    expect(second.status).toBe(422);
    expect(second.body).toMatchObject({ ...REFUSED, details: { ...REFUSED.details, step: 'parallel-check' } });
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([orderId]);
  });

  it('leaves no row when another checker refuses the create', async () => {
    const unknownPassenger = uid('ghost');
    const response = await postOrder(t, { passengerId: unknownPassenger });
    expect(response.status).toBe(422);
    expect(response.body.details.reason).toBe('PASSENGER_NOT_FOUND');
    expect(await activeRideOf(t.dataSource, unknownPassenger)).toEqual([]);
  });

  it('leaves no row when the create fails at commit', async () => {
    const existingOrderId = await createOrder(t);
    const passengerId = await newPassenger(t);
    // The same order id again: the checkers pass, the order's insert then fails, and with it everything.
    const creating = t.engine.createOrder({
      caller: asCaller('client'),
      orderId: existingOrderId,
      requestId: uid('clash'),
      bizCode: 'EXPRESS',
      sceneId: 'APP',
      payload: { passengerId, pickup: PICKUP, dropoff: DROPOFF },
    });
    await expect(creating).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([]);
    await createOrder(t, { passengerId });
  });

  it.each([2, 8])('%i concurrent creates for one passenger: exactly one 201, every other a 422 PASSENGER_HAS_UNFINISHED_ORDER', async (n) => {
    const passengerId = await newPassenger(t);
    const responses = await Promise.all(Array.from({ length: n }, () => postOrder(t, { passengerId })));
    const created = responses.filter((r) => r.status === 201);
    const refused = responses.filter((r) => r.status !== 201);
    expect(created).toHaveLength(1);
    // Refused by the checker, or, when they raced past it together, by the passenger's key at save().
    for (const r of refused) expect({ status: r.status, body: r.body }).toMatchObject({ status: 422, body: REFUSED });
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([created[0].body.orderId]);
  });
});

describe(`the passenger's row in the transaction is the guarantee, not the checker (${DATABASE_NAME})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  /**
   * Another ride of the passenger being created: its row written in a transaction still open, which
   * the checker cannot see. The create under test passes the checker and waits on the key at save().
   */
  async function raceAgainstOpenRide(end: 'commit' | 'rollback') {
    const passengerId = await newPassenger(t);
    const otherRide = await createOrder(t);
    const runner = t.dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      await sql(runner, 'INSERT INTO taxi_passenger_active_ride (passenger_id, order_id, created_at) VALUES (?, ?, ?)', [passengerId, otherRide, new Date()]);
      const pending = postOrder(t, { passengerId });
      await waitFor('the create to wait on the passenger\'s key', async () => (await lockWaitsOn(t.dataSource, 'taxi_passenger_active_ride')) === 1);
      await (end === 'commit' ? runner.commitTransaction() : runner.rollbackTransaction());
      return { passengerId, otherRide, response: await pending };
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }
  }

  it('refuses a create that passed the checker once the other ride commits: 422 at save, nothing written', async () => {
    const { passengerId, otherRide, response } = await raceAgainstOpenRide('commit');
    expect({ status: response.status, body: response.body }).toMatchObject({ status: 422, body: { ...REFUSED, details: { ...REFUSED.details, step: 'save' } } });
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([otherRide]);
    const [orders] = await sql(t.dataSource, `SELECT COUNT(*) AS n FROM fsm_order WHERE ${jsonText(t.dataSource, 'data', 'passengerId')} = ?`, [passengerId]);
    expect(Number(orders.n)).toBe(0);
  });

  it('applies the create once the other ride\'s transaction rolls back', async () => {
    const { passengerId, response } = await raceAgainstOpenRide('rollback');
    expect(response.status).toBe(201);
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([response.body.orderId]);
  });
});
