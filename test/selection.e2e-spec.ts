import type { Redis } from 'ioredis';
import { DROPOFF, PICKUP, createOrder, newPassenger, postOrder, uid } from './support/taxi-client.js';
import { startTestApp, testRedis, type TestApp } from './support/test-app.js';
import { asCaller } from './support/callers.js';

const slotKey = (passengerId: string) => `taxi:passenger-active:${passengerId}`;

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

describe('one unfinished ride per passenger', () => {
  let t: TestApp;
  let redis: Redis;
  beforeAll(async () => {
    t = await startTestApp();
    redis = testRedis();
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  it('holds the passenger from create, and refuses a second order', async () => {
    const passengerId = await newPassenger(t);
    const orderId = await createOrder(t, { passengerId });
    expect((await redis.get(slotKey(passengerId)))?.split(' ')[0]).toBe(orderId);
    const second = await postOrder(t, { passengerId });
    expect(second.status).toBe(422);
    expect(second.body).toMatchObject({ code: 'CHECK_FAILED', details: { reason: 'PASSENGER_HAS_UNFINISHED_ORDER', step: 'parallel-check' } });
  });

  it('releases the slot when another parallel checker fails', async () => {
    const unknownPassenger = uid('ghost');
    const response = await postOrder(t, { passengerId: unknownPassenger });
    expect(response.status).toBe(422);
    expect(response.body.details.reason).toBe('PASSENGER_NOT_FOUND');
    expect(await redis.exists(slotKey(unknownPassenger))).toBe(0);
  });

  it('releases the slot when the create fails after the checkers, at commit', async () => {
    const existingOrderId = await createOrder(t);
    const passengerId = await newPassenger(t);
    // The same order id again: the checkers pass and hold the slot, the insert then fails.
    const creating = t.engine.createOrder({
      caller: asCaller('client'),
      orderId: existingOrderId,
      requestId: uid('clash'),
      bizCode: 'EXPRESS',
      sceneId: 'APP',
      payload: { passengerId, pickup: PICKUP, dropoff: DROPOFF },
    });
    await expect(creating).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    expect(await redis.exists(slotKey(passengerId))).toBe(0);
    await createOrder(t, { passengerId });
  });

  it('takes over a slot whose ride is over but was never freed', async () => {
    const passengerId = await newPassenger(t);
    const orderId = await createOrder(t, { passengerId });
    await t.http().post(`/orders/${orderId}/events`).send({ event: 'CANCEL', requestId: uid('c') }).expect(200);
    await redis.set(slotKey(passengerId), `${orderId} ${Date.now()}`); // as if the free after CANCEL had been lost
    await createOrder(t, { passengerId });
  });
});
