import { amqpTopology } from '@order-fsm/core/amqp';
import { deleteTopology, purgeQueue, queueMessages, uniquePrefix, waitFor } from './support/broker.js';
import { activeRideOf, advance, createOrder, newPassenger, transitionsOf } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { testMachine, TestProcessorsModule, TimerWitness } from './support/test-processors.js';
import { sql } from './support/database.js';

async function timersOf(t: TestApp, orderId: string) {
  return sql(t.dataSource, 'SELECT event, version, state, fired_at, outcome FROM fsm_timer WHERE order_id = ? ORDER BY id', [orderId]) as Promise<
    Array<{ event: string; version: number; state: string; fired_at: Date | null; outcome: string | null }>
  >;
}

/** Makes the order's pending timers due now, as the clock would once their timeout has passed. */
async function dueNow(t: TestApp, orderId: string): Promise<void> {
  await sql(t.dataSource, 'UPDATE fsm_timer SET fire_at = ? WHERE order_id = ? AND fired_at IS NULL', [new Date(), orderId]);
}

const TIMEOUT_MS = 600_000;

describe('durable timers', () => {
  const prefix = uniquePrefix('timers');
  let t: TestApp;
  beforeAll(async () => {
    // Timeouts no step of a test could outlast on a slow machine: each test makes its timers due itself (dueNow).
    t = await startTestApp({ amqpPrefix: prefix, acceptTimeoutMs: TIMEOUT_MS, paymentTimeoutMs: TIMEOUT_MS, timerPollMs: 50 });
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  it('cancels a CREATED order nobody accepts in time, once, as the timer, and frees the passenger', async () => {
    const passengerId = await newPassenger(t);
    const orderId = await createOrder(t, { passengerId });
    // Scheduled at the accept timeout after the processor asked for it (in its action, a moment before the
    // transition's own time): within a few seconds of the timeout after the transition, never past it.
    const [scheduled] = await sql(t.dataSource, 'SELECT t.fire_at, o.updated_at FROM fsm_timer t JOIN fsm_order o ON o.id = t.order_id WHERE t.order_id = ?', [orderId]);
    const after = new Date(scheduled.fire_at).getTime() - new Date(scheduled.updated_at).getTime();
    // (+1: each column keeps milliseconds, and one may round where the other truncates)
    expect(after).toBeLessThanOrEqual(TIMEOUT_MS + 1);
    expect(after).toBeGreaterThan(TIMEOUT_MS - 5_000);
    await dueNow(t, orderId);
    await waitFor('the system cancel', async () => (await t.engine.findOrder(orderId))?.state === 'CANCELLED');
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([]);
    const log = await transitionsOf(t, orderId);
    expect(log.map((e) => [e.event, e.toState, e.source])).toEqual([
      ['CREATE', 'CREATED', 'api'],
      ['ACCEPT_TIMEOUT', 'CANCELLED', 'timer'],
    ]);
    expect(await timersOf(t, orderId)).toEqual([
      { event: 'ACCEPT_TIMEOUT', version: 1, state: 'CREATED', fired_at: expect.any(Date), outcome: 'fired' },
    ]);
    expect((await t.engine.findOrder(orderId))?.data).toMatchObject({ cancelReason: 'NO_DRIVER_ACCEPTED' });
  });

  it('fires nothing for an order that moved on before its time', async () => {
    const orderId = await createOrder(t);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
    await dueNow(t, orderId);
    const [timer] = await waitFor('the timer to come due', async () => {
      const timers = await timersOf(t, orderId);
      return timers[0]?.fired_at ? timers : undefined;
    });
    expect(timer.outcome).toBe('moved-on');
    expect((await transitionsOf(t, orderId)).map((e) => e.event)).toEqual(['CREATE', 'ACCEPT']);
  });

  it('closes a cancellation whose fee is not paid in time, and frees the passenger', async () => {
    const passengerId = await newPassenger(t);
    const orderId = await createOrder(t, { passengerId });
    await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
    await advance(t, orderId, 'ARRIVE');
    await advance(t, orderId, 'CANCEL');
    await dueNow(t, orderId);
    await waitFor('CLOSED', async () => (await t.engine.findOrder(orderId))?.state === 'CLOSED');
    const last = (await transitionsOf(t, orderId)).at(-1);
    expect(last).toMatchObject({ event: 'PAYMENT_TIMEOUT', fromState: 'CANCEL_PENDING_PAYMENT', toState: 'CLOSED', source: 'timer' });
    expect(await activeRideOf(t.dataSource, passengerId)).toEqual([]);
  });
});

describe('a timer that fires', () => {
  const prefix = uniquePrefix('timer-commit');
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ amqpPrefix: prefix, timerPollMs: 50 }, { modules: [TestProcessorsModule], machine: testMachine });
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  it('is marked fired in the same transaction as its transition', async () => {
    const orderId = await createOrder(t);
    await sql(t.dataSource, 
      "INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES (?, 1, 'CREATED', 'TEST_TIMER', CURRENT_TIMESTAMP(3), CURRENT_TIMESTAMP(3))",
      [orderId],
    );
    const witness = t.app.get(TimerWitness);
    await waitFor('the timer to fire', async () => witness.outcomes.has(orderId));
    // Read by another connection right after the transition committed, before the poller went on.
    expect(witness.outcomes.get(orderId)).toBe('fired');
    expect((await t.engine.findOrder(orderId))?.state).toBe('ACCEPTED');
    expect((await transitionsOf(t, orderId)).at(-1)).toMatchObject({ event: 'TEST_TIMER', source: 'timer' });
  });
});

describe('a timer survives a restart', () => {
  it('is scheduled by one instance and fired by the next', async () => {
    const prefix = uniquePrefix('restart');
    // The first instance never polls: it schedules the timer and goes away before it is due.
    const first = await startTestApp({ amqpPrefix: prefix, acceptTimeoutMs: 1_000, timerPollMs: 600_000 });
    const orderId = await createOrder(first);
    const [scheduled] = await timersOf(first, orderId);
    expect(scheduled).toMatchObject({ event: 'ACCEPT_TIMEOUT', fired_at: null });
    await first.close();

    const second = await startTestApp({ amqpPrefix: prefix, timerPollMs: 50 });
    try {
      await waitFor('the timer to fire in the new instance', async () => (await second.engine.findOrder(orderId))?.state === 'CANCELLED');
      expect((await timersOf(second, orderId)).map((r) => r.outcome)).toEqual(['fired']);
    } finally {
      await second.close();
      await deleteTopology(prefix);
    }
  });
});

describe('the sweeper', () => {
  const prefix = uniquePrefix('sweeper');
  const { workQueue } = amqpTopology(prefix, 0);
  let api: TestApp;
  let worker: TestApp | undefined;
  beforeAll(async () => {
    api = await startTestApp({ amqpPrefix: prefix, workerEnabled: false, autoStuckAfterMs: 500, sweeperIntervalMs: 100 });
  });
  afterAll(async () => {
    await worker?.close();
    await api.close();
    await deleteTopology(prefix);
  });

  it('recovers an order whose work message was deleted from the queue', async () => {
    const orderId = await createOrder(api, { sceneId: 'ENTERPRISE' });
    for (const [event, payload] of [
      ['ACCEPT', { driverId: 'd' }],
      ['ARRIVE', {}],
      ['START_TRIP', {}],
      ['END_TRIP', { distanceKm: 3 }],
      ['CONFIRM_FEE', {}],
    ] as const) {
      await advance(api, orderId, event, payload);
    }
    await waitFor('the work on the queue', async () =>
      (await queueMessages(workQueue)).some((m) => (m.body as { orderId: string }).orderId === orderId),
    );
    expect(await purgeQueue(workQueue)).toBeGreaterThanOrEqual(1); // the message is lost

    worker = await startTestApp({ amqpPrefix: prefix, autoStuckAfterMs: 500, sweeperIntervalMs: 100 });
    await waitFor('CLOSED', async () => (await api.engine.findOrder(orderId))?.state === 'CLOSED', 30_000);
    const log = await transitionsOf(api, orderId);
    expect(log.slice(-2).map((e) => [e.event, e.source])).toEqual([
      ['AUTO_PAY', 'sweeper'],
      ['CLOSE', 'worker'],
    ]);
  });
});
