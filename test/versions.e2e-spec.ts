import { createTaxiMachine, createTaxiMachineV1, taxiMigrationV1toV2 } from '../apps/order-service/src/taxi/taxi.machine.js';
import { fareCents } from '../apps/order-service/src/taxi/fares.js';
import { deleteTopology, uniquePrefix } from './support/broker.js';
import { callerName } from './support/callers.js';
import { sql } from './support/database.js';
import { taxiProvidersServing } from './support/earlier-release.js';
import { advance, createOrder, newPassenger, sendEvent, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { total } from './support/prometheus.js';

/**
 * Machine versions through the taxi service, on MariaDB (or PostgreSQL), Redis and RabbitMQ: orders
 * created by the release that served v1 alone keep v1's rules once the service serves v2, new orders
 * follow v2 (the fraud review), operators migrate v1's orders in bulk after a dry run, a lazy
 * migration runs on an order's next event, and a version that is no longer served is refused or
 * migrated on the next event.
 */

const OPERATOR = callerName('operator');
/** An EXPRESS ride of 600 km: 800 + 200 x 600 = 120 800 cents, above the default review threshold of 100 000. */
const LONG_KM = 600;
const SHORT_KM = 10;

type Detail = {
  order: { state: string; version: number; machineVersion: number; paused: unknown };
  transitions: Array<{ version: number; event: string; fromState: string; toState: string; source: string; actor: string; reason: string | null; machineVersion: number }>;
  timers: Array<{ version: number; event: string; fireAt: string; status: string }>;
  actions: Array<{ kind: string; actor: string; reason: string; detail: unknown }>;
};

describe('machine versions: the taxi machine v1 -> v2', () => {
  const prefix = uniquePrefix('versions');
  const v1 = createTaxiMachineV1();
  const v2 = createTaxiMachine();
  /** Every app a test starts is closed after it, even when the test fails. */
  let t: TestApp | undefined;
  const start = async (...args: Parameters<typeof startTestApp>): Promise<TestApp> => {
    await t?.close();
    t = await startTestApp({ amqpPrefix: prefix, ...args[0] }, args[1]);
    return t;
  };

  /** The orders the release before v2 created, by what each test does with them. */
  const made: Record<'bigFee' | 'lazy' | 'retired' | 'oneByOne' | 'created' | 'cancelPending' | 'feeConfirmed', string> = {} as never;
  let cancelPendingTimer: { fireAt: string; version: number };

  const ops = () => t!.http('operator');
  const detail = async (orderId: string): Promise<Detail> => (await ops().get(`/ops/orders/${orderId}`).expect(200)).body;
  const toTripEnded = async (orderId: string, distanceKm: number) => {
    await advance(t!, orderId, 'ACCEPT', { driverId: 'd-1' });
    await advance(t!, orderId, 'ARRIVE');
    await advance(t!, orderId, 'START_TRIP');
    await advance(t!, orderId, 'END_TRIP', { distanceKm });
  };
  const outboxOf = async (orderId: string, version: number) =>
    (await sql(t!.dataSource, 'SELECT kind, routing_key, payload FROM fsm_outbox WHERE order_id = ? AND version = ?', [orderId, version])).map((row) => ({
      kind: row.kind,
      routingKey: row.routing_key,
      payload: typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload,
    }));

  beforeAll(async () => {
    // The release before v2: the taxi machine's v1 alone, with the processors as they served it.
    await start({ acceptTimeoutMs: 3_600_000, paymentTimeoutMs: 3_600_000 }, { machine: v1, taxiProviders: taxiProvidersServing([1]) });
    for (const name of ['bigFee', 'lazy', 'retired', 'oneByOne'] as const) {
      made[name] = await createOrder(t!);
      await toTripEnded(made[name], LONG_KM);
    }
    made.created = await createOrder(t!);
    made.feeConfirmed = await createOrder(t!);
    await toTripEnded(made.feeConfirmed, SHORT_KM);
    await advance(t!, made.feeConfirmed, 'CONFIRM_FEE');
    // Cancelled after the driver arrived: the fee is owed, and PAYMENT_TIMEOUT is pending.
    made.cancelPending = await createOrder(t!);
    await advance(t!, made.cancelPending, 'ACCEPT', { driverId: 'd-1' });
    await advance(t!, made.cancelPending, 'ARRIVE');
    expect((await advance(t!, made.cancelPending, 'CANCEL')).toState).toBe('CANCEL_PENDING_PAYMENT');
    const pending = (await detail(made.cancelPending)).timers.filter((timer) => timer.event === 'PAYMENT_TIMEOUT');
    expect(pending).toEqual([expect.objectContaining({ version: 4, status: 'pending' })]);
    cancelPendingTimer = pending[0]!;
  });
  afterAll(async () => {
    await t?.close();
    await deleteTopology(prefix);
  });

  it('the release before v2 created its orders under v1, and a big fee was confirmed without review', async () => {
    expect((await ops().get('/ops/machine').expect(200)).body).toMatchObject({ version: 1, versions: [1] });
    for (const orderId of Object.values(made)) expect((await detail(orderId)).order.machineVersion).toBe(1);
    expect((await detail(made.feeConfirmed)).transitions.map((row) => [row.event, row.machineVersion])).toEqual(
      ['CREATE', 'ACCEPT', 'ARRIVE', 'START_TRIP', 'END_TRIP', 'CONFIRM_FEE'].map((event) => [event, 1]),
    );
  });

  describe('once the service serves v2, with v1 beside it', () => {
    beforeAll(async () => {
      await start({ acceptTimeoutMs: 3_600_000, paymentTimeoutMs: 3_600_000 });
    });

    it('serves v2 to new orders and v1 to the orders created under it', async () => {
      expect((await ops().get('/ops/machine').expect(200)).body).toMatchObject({ version: 2, versions: [1, 2] });
      const big = await createOrder(t!);
      expect((await detail(big)).order.machineVersion).toBe(2);
    });

    it("keeps v1's rules for a v1 order: a big fee is confirmed, not reviewed", async () => {
      const confirmed = await advance(t!, made.bigFee, 'CONFIRM_FEE');
      expect([confirmed.toState, confirmed.result]).toEqual(['FEE_CONFIRMED', { feeCents: fareCents('EXPRESS', LONG_KM) }]);
      const { order, transitions } = await detail(made.bigFee);
      expect([order.state, order.machineVersion, transitions.at(-1)!.machineVersion]).toEqual(['FEE_CONFIRMED', 1, 1]);
    });

    it("follows v2 for a new order: a big fee waits in FRAUD_REVIEW for an operator, who approves it", async () => {
      const orderId = await createOrder(t!);
      await toTripEnded(orderId, LONG_KM);
      const reviewed = await advance(t!, orderId, 'CONFIRM_FEE');
      expect([reviewed.toState, reviewed.result]).toEqual(['FRAUD_REVIEW', { feeCents: fareCents('EXPRESS', LONG_KM) }]);
      expect((await detail(orderId)).transitions.at(-1)).toMatchObject({ event: 'CONFIRM_FEE', toState: 'FRAUD_REVIEW', machineVersion: 2 });
      // The passenger's app may not approve its own fee: the machine says the operator sends it.
      const byClient = await sendEvent(t!, orderId, 'APPROVE_FEE');
      expect([byClient.status, byClient.body.code]).toEqual([403, 'FORBIDDEN']);
      const badNote = await sendEvent(t!, orderId, 'APPROVE_FEE', { note: 42 }, { as: 'operator' });
      expect([badNote.status, badNote.body.code, badNote.body.details?.reason]).toEqual([422, 'CHECK_FAILED', 'INVALID_NOTE']);
      const approved = await sendEvent(t!, orderId, 'APPROVE_FEE', { note: 'a long airport run' }, { as: 'operator' });
      expect([approved.status, approved.body.toState]).toEqual([200, 'FEE_CONFIRMED']);
      expect(approved.body.order.data.feeReview).toMatchObject({ verdict: 'APPROVED', by: OPERATOR, note: 'a long airport run' });
      expect((await advance(t!, orderId, 'PAY', { paymentId: uid('pay') })).toState).toBe('PAID');
    });

    it('a small fee is confirmed under v2 as under v1; a rejected fee cancels the order and frees the passenger', async () => {
      const small = await createOrder(t!);
      await toTripEnded(small, SHORT_KM);
      expect((await advance(t!, small, 'CONFIRM_FEE')).toState).toBe('FEE_CONFIRMED');

      const passengerId = await newPassenger(t!);
      const rejected = await createOrder(t!, { passengerId });
      await toTripEnded(rejected, LONG_KM);
      expect((await advance(t!, rejected, 'CONFIRM_FEE')).toState).toBe('FRAUD_REVIEW');
      const reject = await sendEvent(t!, rejected, 'REJECT_FEE', {}, { as: 'operator' });
      expect([reject.status, reject.body.toState, reject.body.order.data.cancelReason]).toEqual([200, 'CANCELLED', 'FEE_REJECTED']);
      // The ride is over: the passenger may order the next one.
      await createOrder(t!, { passengerId });
    });

    it('migrates v1 orders in bulk: the dry run changes nothing, the run moves each with its log row, status message and audit row, and a second run is a no-op', async () => {
      const orderIds = [made.created, made.cancelPending, made.feeConfirmed];
      const filter = { orderIds, machineVersion: 1 };
      const before = await Promise.all(orderIds.map(detail));

      const dry = (await ops().post('/ops/bulk/migrate').send({ filter, reason: 'ship v2', dryRun: true }).expect(200)).body;
      expect([dry.action, dry.dryRun, dry.summary]).toEqual(['migrate', true, { matched: 3, changes: 3, applied: 0, skipped: 0, failed: 0 }]);
      const planned = Object.fromEntries(dry.items.map((item: { orderId: string; change: string; steps: unknown }) => [item.orderId, [item.change, item.steps]]));
      expect(planned).toEqual({
        [made.created]: ['migrate v1 -> v2: CREATED -> CREATED', [{ fromVersion: 1, toVersion: 2, fromState: 'CREATED', toState: 'CREATED' }]],
        [made.cancelPending]: [
          'migrate v1 -> v2: CANCEL_PENDING_PAYMENT -> CANCEL_PENDING_PAYMENT',
          [{ fromVersion: 1, toVersion: 2, fromState: 'CANCEL_PENDING_PAYMENT', toState: 'CANCEL_PENDING_PAYMENT' }],
        ],
        [made.feeConfirmed]: ['migrate v1 -> v2: FEE_CONFIRMED -> FEE_CONFIRMED', [{ fromVersion: 1, toVersion: 2, fromState: 'FEE_CONFIRMED', toState: 'FEE_CONFIRMED' }]],
      });
      // Nothing written: the same versions, no log row, no audit row, no message.
      expect(await Promise.all(orderIds.map(detail))).toEqual(before);
      for (const [index, orderId] of orderIds.entries()) expect(await outboxOf(orderId, before[index]!.order.version + 1)).toEqual([]);

      const run = (await ops().post('/ops/bulk/migrate').send({ filter, reason: 'ship v2' }).expect(200)).body;
      expect([run.dryRun, run.summary]).toEqual([false, { matched: 3, changes: 3, applied: 3, skipped: 0, failed: 0 }]);
      for (const [index, orderId] of orderIds.entries()) {
        const was = before[index]!.order;
        const item = run.items.find((i: { orderId: string }) => i.orderId === orderId);
        expect(item).toMatchObject({ outcome: 'applied', machineVersion: 1, after: { state: was.state, version: was.version + 1, machineVersion: 2 } });
        const now = await detail(orderId);
        expect([now.order.state, now.order.version, now.order.machineVersion]).toEqual([was.state, was.version + 1, 2]);
        expect(now.transitions.at(-1)).toMatchObject({
          version: was.version + 1,
          event: '@migrate',
          fromState: was.state,
          toState: was.state,
          source: 'migration',
          actor: OPERATOR,
          reason: 'ship v2',
          machineVersion: 2,
        });
        expect(now.actions).toEqual([expect.objectContaining({ kind: 'migrate', actor: OPERATOR, reason: 'ship v2' })]);
        const [message] = await outboxOf(orderId, was.version + 1);
        expect(message).toMatchObject({ kind: 'status', routingKey: `EXPRESS.APP.@migrate.${was.state}` });
        expect(message!.payload).toMatchObject({ orderId, event: '@migrate', fromState: was.state, toState: was.state, version: was.version + 1, machineVersion: 2 });
      }
      // The fee still owed keeps its deadline: PAYMENT_TIMEOUT is carried over to the migrated version.
      const carried = (await detail(made.cancelPending)).timers.filter((timer) => timer.event === 'PAYMENT_TIMEOUT' && timer.version === cancelPendingTimer.version + 1);
      expect(carried).toEqual([expect.objectContaining({ status: 'pending', fireAt: cancelPendingTimer.fireAt })]);

      // Again: no order of v1 is left to match; named one by one, each is already on v2.
      expect((await ops().post('/ops/bulk/migrate').send({ filter, reason: 'again' }).expect(200)).body.summary.matched).toBe(0);
      const again = (await ops().post('/ops/bulk/migrate').send({ filter: { orderIds }, reason: 'again' }).expect(200)).body;
      expect(again.summary).toEqual({ matched: 3, changes: 0, applied: 0, skipped: 3, failed: 0 });
      expect(new Set(again.items.map((item: { skip: string }) => item.skip))).toEqual(new Set(['already on v2']));
      for (const orderId of orderIds) expect((await detail(orderId)).actions).toHaveLength(1);
    });

    it('migrates one order, dry run first, and answers its steps; an order already there has none', async () => {
      const orderId = made.oneByOne;
      const dry = (await ops().post(`/ops/orders/${orderId}/migrate`).send({ reason: 'one by one', dryRun: true }).expect(200)).body;
      expect(dry).toMatchObject({ orderId, dryRun: true, steps: [{ fromVersion: 1, toVersion: 2, fromState: 'TRIP_ENDED', toState: 'TRIP_ENDED' }], order: { machineVersion: 1, version: 5 } });
      expect((await detail(orderId)).order).toMatchObject({ machineVersion: 1, version: 5 });
      const migrations = async () =>
        total((await ops().get('/metrics').expect(200)).text, 'order_fsm_transitions_total', { from_state: 'TRIP_ENDED', to_state: 'TRIP_ENDED', event: '@migrate', source: 'migration' });
      const counted = await migrations();
      const run = (await ops().post(`/ops/orders/${orderId}/migrate`).send({ reason: 'one by one' }).expect(200)).body;
      // Counted by its own event, not as an undeclared one.
      expect((await migrations()) - counted).toBe(1);
      expect(run).toMatchObject({ orderId, dryRun: false, steps: dry.steps, order: { state: 'TRIP_ENDED', machineVersion: 2, version: 6 } });
      const { transitions, actions } = await detail(orderId);
      expect(transitions.at(-1)).toMatchObject({ event: '@migrate', source: 'migration', actor: OPERATOR, reason: 'one by one', machineVersion: 2 });
      expect(actions).toEqual([expect.objectContaining({ kind: 'migrate', actor: OPERATOR, reason: 'one by one' })]);
      // Again, and to a version it is past: no steps, nothing written.
      for (const body of [{ reason: 'again' }, { reason: 'again', toVersion: 1 }]) {
        const again = (await ops().post(`/ops/orders/${orderId}/migrate`).send(body).expect(200)).body;
        expect([again.steps, again.order.machineVersion, again.order.version]).toEqual([[], 2, 6]);
      }
      // A v1 order asked to stay on v1 has no steps either.
      const stays = (await ops().post(`/ops/orders/${made.bigFee}/migrate`).send({ reason: 'one by one', toVersion: 1 }).expect(200)).body;
      expect([stays.steps, stays.order.machineVersion]).toEqual([[], 1]);
    });

    it.each([
      ['no reason', { toVersion: 2 }, 'reason'],
      ['a toVersion that is not a number', { reason: 'r', toVersion: 'two' }, 'toVersion'],
      ['a toVersion the service does not serve', { reason: 'r', toVersion: 3 }, 'toVersion'],
      ['a dryRun that is not a boolean', { reason: 'r', dryRun: 'yes' }, 'dryRun'],
      ['a field it does not know', { reason: 'r', toState: 'CLOSED' }, 'toState'],
    ])('refuses a migration with %s: 400 VALIDATION_FAILED naming the field', async (_name, body, field) => {
      for (const path of [`/ops/orders/${made.bigFee}/migrate`, '/ops/bulk/migrate']) {
        const response = await ops().post(path).send(path.includes('bulk') ? { filter: { orderIds: [made.bigFee] }, ...body } : body);
        expect([path, response.status, response.body.code, response.body.details?.field]).toEqual([path, 400, 'VALIDATION_FAILED', field]);
      }
      expect((await detail(made.bigFee)).order.machineVersion).toBe(1);
    });

    it('refuses a bulk migration with no filter, or a filter.machineVersion that is not a version', async () => {
      for (const [filter, field] of [[{}, 'filter'], [{ machineVersion: 0 }, 'filter.machineVersion']] as const) {
        const response = await ops().post('/ops/bulk/migrate').send({ filter, reason: 'r' });
        expect([response.status, response.body.code, response.body.details?.field]).toEqual([400, 'VALIDATION_FAILED', field]);
      }
      const unknown = await ops().post(`/ops/orders/${uid('nope')}/migrate`).send({ reason: 'r' });
      expect([unknown.status, unknown.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    });

    it('lists the orders of one version', async () => {
      const listed = (await ops().get('/ops/orders').query({ machineVersion: 1, limit: 500 }).expect(200)).body.items.map((o: { orderId: string }) => o.orderId);
      expect(listed).toEqual(expect.arrayContaining([made.bigFee, made.lazy, made.retired]));
      expect(listed).not.toContain(made.created);
      const bad = await ops().get('/ops/orders').query({ machineVersion: 'x' });
      expect([bad.status, bad.body.code, bad.body.details?.field]).toEqual([400, 'VALIDATION_FAILED', 'machineVersion']);
    });
  });

  it('a lazy migration runs on the next event, before it: the v1 order is moved to v2, whose rules then decide', async () => {
    await start({}, { machine: v2, previousMachines: [v1], migrations: [taxiMigrationV1toV2(v1, v2, { lazy: true })] });
    const before = await detail(made.lazy);
    expect([before.order.state, before.order.machineVersion]).toEqual(['TRIP_ENDED', 1]);
    const confirmed = await advance(t!, made.lazy, 'CONFIRM_FEE');
    expect([confirmed.toState, confirmed.version]).toEqual(['FRAUD_REVIEW', before.order.version + 2]);
    const { order, transitions, actions } = await detail(made.lazy);
    expect(order.machineVersion).toBe(2);
    expect(transitions.slice(-2).map((row) => [row.version, row.event, row.fromState, row.toState, row.source, row.machineVersion])).toEqual([
      [before.order.version + 1, '@migrate', 'TRIP_ENDED', 'TRIP_ENDED', 'migration', 2],
      [before.order.version + 2, 'CONFIRM_FEE', 'TRIP_ENDED', 'FRAUD_REVIEW', 'api', 2],
    ]);
    // No operator did it: no audit row.
    expect(actions).toEqual([]);
  });

  describe('once v1 is no longer served', () => {
    it('refuses an event to a v1 order with MACHINE_VERSION_NOT_SERVED when no migration moves it on, and a migration with MIGRATION_NOT_DECLARED', async () => {
      await start({}, { machine: v2, previousMachines: [], migrations: [], taxiProviders: taxiProvidersServing([2]) });
      const before = await detail(made.retired);
      const refused = await sendEvent(t!, made.retired, 'CONFIRM_FEE');
      expect([refused.status, refused.body.code, refused.body.details]).toEqual([409, 'MACHINE_VERSION_NOT_SERVED', { orderId: made.retired, machineVersion: 1, served: [2] }]);
      const migrate = await ops().post(`/ops/orders/${made.retired}/migrate`).send({ reason: 'v1 is gone' });
      expect([migrate.status, migrate.body.code, migrate.body.details]).toMatchObject([409, 'MIGRATION_NOT_DECLARED', { orderId: made.retired, machineVersion: 1 }]);
      const bulk = (await ops().post('/ops/bulk/migrate').send({ filter: { orderIds: [made.retired] }, reason: 'v1 is gone' }).expect(200)).body;
      expect(bulk.items).toEqual([expect.objectContaining({ change: null, skip: 'no migration is declared from v1 (MIGRATION_NOT_DECLARED)', outcome: 'skipped' })]);
      expect(await detail(made.retired)).toEqual(before);
    });

    it('migrates a v1 order on its next event when a migration is declared, lazy or not', async () => {
      await start({}, { machine: v2, previousMachines: [], migrations: [taxiMigrationV1toV2(v1, v2)], taxiProviders: taxiProvidersServing([2]) });
      const confirmed = await advance(t!, made.retired, 'CONFIRM_FEE');
      expect(confirmed.toState).toBe('FRAUD_REVIEW');
      expect((await detail(made.retired)).transitions.slice(-2).map((row) => [row.event, row.source, row.machineVersion])).toEqual([
        ['@migrate', 'migration', 2],
        ['CONFIRM_FEE', 'api', 2],
      ]);
    });
  });
});
