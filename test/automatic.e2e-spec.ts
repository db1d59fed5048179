import { CompanyAccounts } from '../apps/order-service/src/taxi/company-accounts.js';
import { deleteTopology, publishRaw, purgeQueue, queueMessages, uniquePrefix, waitFor } from './support/broker.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { advance, createOrder, TO_FEE_CONFIRMED, transitionsOf } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Sweeper } from '../libs/order-fsm/src/workers/sweeper.js';
import { amqpTopology } from '@order-fsm/core/amqp';
import { sql } from './support/database.js';

async function enterpriseOrderAtFeeConfirmed(t: TestApp): Promise<string> {
  const orderId = await createOrder(t, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' });
  for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, orderId, event, payload);
  return orderId;
}

async function stateOf(t: TestApp, orderId: string): Promise<string> {
  return (await t.engine.findOrder(orderId))!.state;
}

/** A company account that fails the first `failures` charges of each order. */
class FlakyCompanyAccounts extends CompanyAccounts {
  readonly calls = new Map<string, number>();
  constructor(private readonly failures: number) {
    super();
  }
  override async charge(_paymentId: string, orderId: string): Promise<void> {
    const n = (this.calls.get(orderId) ?? 0) + 1;
    this.calls.set(orderId, n);
    if (n <= this.failures) throw new Error(`billing is down (call ${n})`);
  }
}

describe('ENTERPRISE orders finish on their own, through two worker processes', () => {
  const prefix = uniquePrefix('workers');
  let api: TestApp;
  const workers: ServiceProcess[] = [];

  beforeAll(async () => {
    // This instance only serves the API (and relays): the work is done by the two processes.
    api = await startTestApp({ amqpPrefix: prefix, workerEnabled: false });
    for (let i = 0; i < 2; i++) workers.push(await startServiceProcess({ AMQP_PREFIX: prefix, WORKER_ENABLED: 'true' }));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await api.close();
    await deleteTopology(prefix);
  });

  it('FEE_CONFIRMED -> PAID -> CLOSED with nobody calling, each step once', async () => {
    const orderIds = await Promise.all(Array.from({ length: 12 }, () => enterpriseOrderAtFeeConfirmed(api)));
    await waitFor('every order CLOSED', async () => (await Promise.all(orderIds.map((id) => stateOf(api, id)))).every((s) => s === 'CLOSED'), 60_000);
    for (const orderId of orderIds) {
      const log = await transitionsOf(api, orderId);
      expect(log.slice(-2).map((e) => [e.event, e.fromState, e.toState, e.source])).toEqual([
        ['AUTO_PAY', 'FEE_CONFIRMED', 'PAID', 'worker'],
        ['CLOSE', 'PAID', 'CLOSED', 'worker'],
      ]);
      expect(log).toHaveLength(8);
    }
    const payments = await sql(api.dataSource, 'SELECT order_id FROM taxi_payment WHERE order_id IN (?)', [orderIds]);
    expect(payments).toHaveLength(orderIds.length);
    // AUTO_PAY freed each passenger in the transaction that paid the ride.
    expect(await sql(api.dataSource, 'SELECT order_id FROM taxi_passenger_active_ride WHERE order_id IN (?)', [orderIds])).toEqual([]);
  });

  it('leaves orders of other scenes for their passengers to pay', async () => {
    const orderId = await createOrder(api, { sceneId: 'APP' });
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(api, orderId, event, payload);
    const [row] = await sql(api.dataSource, 'SELECT auto_due_at FROM fsm_order WHERE id = ?', [orderId]);
    expect(row.auto_due_at).toBeNull();
    const [queued] = await sql(api.dataSource, "SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND kind = 'work'", [orderId]);
    expect(Number(queued.n)).toBe(0);
    expect(await stateOf(api, orderId)).toBe('FEE_CONFIRMED');
  });
});

describe('a failing automatic step', () => {
  const prefix = uniquePrefix('retry');
  const topology = amqpTopology(prefix, 2);
  const flaky = new FlakyCompanyAccounts(2);
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(
      { amqpPrefix: prefix, workerRetryDelaysMs: [100, 300] },
      { override: (builder) => builder.overrideProvider(CompanyAccounts).useValue(flaky) },
    );
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  it('fails twice, then succeeds on the third delivery: applied once', async () => {
    const orderId = await enterpriseOrderAtFeeConfirmed(t);
    await waitFor('CLOSED', async () => (await stateOf(t, orderId)) === 'CLOSED');
    expect(flaky.calls.get(orderId)).toBe(3);
    const log = await transitionsOf(t, orderId);
    expect(log.filter((e) => e.event === 'AUTO_PAY')).toHaveLength(1);
    expect(await queueMessages(topology.deadQueue)).toEqual([]);
  });
});

describe('poison work', () => {
  const prefix = uniquePrefix('poison');
  const topology = amqpTopology(prefix, 2);
  const broken = new FlakyCompanyAccounts(Number.MAX_SAFE_INTEGER);
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(
      { amqpPrefix: prefix, workerRetryDelaysMs: [100, 200] },
      { override: (builder) => builder.overrideProvider(CompanyAccounts).useValue(broken) },
    );
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  it('goes to the dead-letter queue after its last attempt, flags the order, and is not retried again', async () => {
    const orderId = await enterpriseOrderAtFeeConfirmed(t);
    const dead = await waitFor('the dead-letter queue', async () => {
      const messages = await queueMessages(topology.deadQueue);
      return messages.find((m) => (m.body as { orderId: string }).orderId === orderId);
    });
    expect(dead.headers['x-order-fsm-attempt']).toBe(3);
    expect(String(dead.headers['x-order-fsm-reason'])).toMatch(/billing is down/);
    const order = await waitFor('the flag', async () => (await t.http().get(`/orders/${orderId}`)).body.flag && (await t.http().get(`/orders/${orderId}`)).body);
    expect(order).toMatchObject({ state: 'FEE_CONFIRMED', flag: { reason: expect.stringContaining('AUTO_PAY dead-lettered') } });
    expect(broken.calls.get(orderId)).toBe(3);

    // A sweep as if an hour had passed, far beyond the stuck limit: a flagged order is not queued again.
    await t.app.get(Sweeper).sweep(new Date(Date.now() + 3_600_000));
    const [work] = await sql(t.dataSource, "SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND kind = 'work'", [orderId]);
    expect(Number(work.n)).toBe(1);
    expect(broken.calls.get(orderId)).toBe(3);

    // A person settles it: the passenger pays, the order moves on and the flag clears.
    await advance(t, orderId, 'PAY', { paymentId: `manual-${orderId}` });
    const settled = (await t.http().get(`/orders/${orderId}`).expect(200)).body;
    expect(settled.flag).toBeUndefined();
  });

  it('a malformed message goes straight to the dead-letter queue', async () => {
    await publishRaw(topology.workExchange, 'work', '{"this is": "not work"');
    const dead = await waitFor('the dead-letter queue', async () =>
      (await queueMessages(topology.deadQueue)).find((m) => m.headers['x-order-fsm-reason'] === 'malformed work message'),
    );
    expect(dead.body).toBe('{"this is": "not work"');
  });
});
