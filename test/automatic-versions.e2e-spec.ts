import { randomInt, randomUUID } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import {
  AbstractStateProcessor,
  defineMachine,
  defineMigration,
  type FsmOrder,
  ORDER_STORE,
  OrderFsmModule,
  OrderProcessor,
  type OrderStore,
  ServiceResult,
} from '@order-fsm/core';
import { OrderFsmOps, OrderFsmOpsModule } from '@order-fsm/core/ops';
import { OrderFsmTestbed } from '@order-fsm/core/testing';
import type { DataSource } from 'typeorm';
import { HeldEventPoller } from '../libs/order-fsm/src/workers/held-event-poller.js';
import { Sweeper, UNSERVED_VERSION_RECHECK_MS } from '../libs/order-fsm/src/workers/sweeper.js';
import { DATABASE_NAME, openDatabase, orderStoreFor, sql } from './support/database.js';

/**
 * A machine whose versions give state A different automatic work: v1 and v2 send GO, v3 (the
 * current one) sends ADVANCE. A service serves v3 and v2; v1 is retired, with a migration to v2
 * declared; no v7 exists here. An order's automatic work is the version's it follows, whoever
 * queues it.
 */
const machineOf = (version: number, event: 'GO' | 'ADVANCE') =>
  defineMachine({
    name: 'sweep-test',
    version,
    initial: 'INIT',
    states: { A: { automatic: { event, stuckAfterMs: version * 1_000 } }, B: { final: true } },
    transitions: [
      { from: 'INIT', event: 'CREATE', to: 'A' },
      { from: 'A', event, to: 'B' },
    ],
  });
const v1 = machineOf(1, 'GO');
const v2 = machineOf(2, 'GO');
const v3 = machineOf(3, 'ADVANCE');
const v1ToV2 = defineMigration({ from: v1, to: v2, states: { A: 'A' } });

// Due at a past instant of this run's own (in 2001 to 2009: after the store contract's orders of
// 1999, long before anything due in the present), with a clock just after it.
const DUE = new Date(Date.UTC(2001, 0, 1) + randomInt(8 * 365 * 24 * 3_600) * 1_000);
const NOW = new Date(DUE.getTime() + 10_000);

/** An order in `state` (A unless said) following machine version `machineVersion`, committed straight to the store. */
async function orderInA(store: OrderStore, prefix: string, machineVersion: number, at: Date, autoDueAt: Date, state = 'A'): Promise<string> {
  const order: FsmOrder = { orderId: `${prefix}-${randomUUID()}`, bizCode: 'TAXI', sceneId: 'CITY', state: 'INIT', version: 0, data: {} };
  await store.commit({
    order, toState: state, event: 'CREATE', requestId: `req-${randomUUID()}`, requestHash: 'h'.repeat(64), caller: 'spec', source: 'api',
    at, machineVersion, messages: [], autoDueAt, outcome: { response: '{}', timers: [] },
  });
  return order.orderId;
}

/**
 * The sweeper in a service on the suite's database (MariaDB, or PostgreSQL in the e2e-postgres
 * project): each stuck order gets its own version's work; an order of the retired v1 is migrated to
 * v2 and gets v2's work with it; an order of a version neither served nor migrated is left alone, due
 * again later, rather than given another version's work or dropped from the sweeps for good.
 */
describe(`Sweeper on ${DATABASE_NAME}: each stuck order gets its own machine version's work`, () => {
  let dataSource: DataSource;
  let app: INestApplicationContext;
  let store: OrderStore;
  let sweeper: Sweeper;
  const made: string[] = [];

  const stuckOrder = async (machineVersion: number, state = 'A') => {
    const orderId = await orderInA(store, 'sweep', machineVersion, DUE, DUE, state);
    made.push(orderId);
    return orderId;
  };
  const workOf = async (orderId: string) =>
    (await sql(dataSource, "SELECT payload FROM fsm_outbox WHERE order_id = ? AND kind = 'work'", [orderId])).map(
      (row) => (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as { event: string; version: number; origin: string },
    );
  const dueAt = async (orderId: string) => {
    const [row] = await sql(dataSource, 'SELECT auto_due_at FROM fsm_order WHERE id = ?', [orderId]);
    return row!.auto_due_at === null ? null : new Date(row!.auto_due_at).getTime();
  };

  beforeAll(async () => {
    dataSource = await openDatabase({ engineSchema: true });
    class SweepTestModule {}
    Module({
      imports: [
        OrderFsmModule.forRoot({
          machine: v3, previousMachines: [v2], migrations: [v1ToV2], store: orderStoreFor(dataSource), lock: false,
          timers: { enabled: false }, sweeper: { enabled: false }, worker: { enabled: false },
        }),
      ],
    })(SweepTestModule);
    app = await NestFactory.createApplicationContext(SweepTestModule, { logger: ['error'] });
    store = app.get(ORDER_STORE);
    sweeper = app.get(Sweeper);
  });
  afterAll(async () => {
    await app?.close();
    if (made.length > 0) {
      for (const table of ['fsm_outbox', 'fsm_transition']) await sql(dataSource, `DELETE FROM ${table} WHERE order_id IN (?)`, [made]);
      await sql(dataSource, 'DELETE FROM fsm_order WHERE id IN (?)', [made]);
    }
    await dataSource?.destroy();
  });

  it("queues v2's work for a v2 order and v3's for a v3 order, migrates a v1 order, and leaves a v7 order for later", async () => {
    const [ofV1, ofV2, ofV3, ofV7] = [await stuckOrder(1), await stuckOrder(2), await stuckOrder(3), await stuckOrder(7)];
    // A v1 order in B, final, with a due time left over: the migration leaves it on v1, and nothing is due.
    const doneV1 = await stuckOrder(1, 'B');
    // All five are due at the same instant: found in no particular order.
    const found = (await store.findStuck(NOW, 100)).filter((o) => made.includes(o.orderId));
    expect(found.map((o) => [o.orderId, o.machineVersion]).sort((a, b) => Number(a[1]) - Number(b[1]) || (a[0] === ofV1 ? -1 : 1))).toEqual([
      [ofV1, 1],
      [doneV1, 1],
      [ofV2, 2],
      [ofV3, 3],
      [ofV7, 7],
    ]);

    // Three queued (v2's, v3's, and v1's migrated); other rows due by then, if any run left some, count too.
    expect(await sweeper.sweep(NOW)).toBeGreaterThanOrEqual(3);
    expect(await workOf(ofV2)).toEqual([expect.objectContaining({ event: 'GO', version: 1, origin: 'sweeper' })]);
    expect(await workOf(ofV3)).toEqual([expect.objectContaining({ event: 'ADVANCE', version: 1, origin: 'sweeper' })]);
    // Each is due again after its own version's stuck limit.
    expect(await dueAt(ofV2)).toBe(NOW.getTime() + 2_000);
    expect(await dueAt(ofV3)).toBe(NOW.getTime() + 3_000);
    // v1's order: migrated to v2 in a transition of its own, which queued v2's work for A.
    const [migration] = await sql(dataSource, 'SELECT version, event, source, machine_version FROM fsm_transition WHERE order_id = ? AND version = 2', [ofV1]);
    expect({ ...migration, machine_version: Number(migration!.machine_version) }).toMatchObject({ event: '@migrate', source: 'migration', machine_version: 2 });
    expect(await workOf(ofV1)).toEqual([expect.objectContaining({ event: 'GO', version: 2, origin: 'transition' })]);
    // v7's order: no work, and still due (later), so that an instance serving v7 sweeps it.
    expect(await workOf(ofV7)).toEqual([]);
    expect(await dueAt(ofV7)).toBe(NOW.getTime() + UNSERVED_VERSION_RECHECK_MS);
    // The final v1 order: no work, no migration, and no longer due.
    expect(await workOf(doneV1)).toEqual([]);
    expect(await dueAt(doneV1)).toBeNull();

    // Not found again before their new due times; v2's, v3's and v7's once those have passed, in
    // that order (v1's migrated order is due two seconds after the migration, in the present).
    expect((await store.findStuck(NOW, 100)).filter((o) => made.includes(o.orderId))).toEqual([]);
    const later = new Date(NOW.getTime() + UNSERVED_VERSION_RECHECK_MS);
    expect((await store.findStuck(later, 100)).filter((o) => made.includes(o.orderId)).map((o) => o.orderId)).toEqual([ofV2, ofV3, ofV7]);
  });
});

/**
 * The operator's side of the same rule, in a testbed (SQLite on sql.js) with the operator API: an
 * order's automatic work is shown, and queued again by a resume, from the version the order follows.
 */
describe("operator API: an order's automatic work is its own machine version's", () => {
  const OPERATOR = { name: 'olga', role: 'operator' };
  let testbed: OrderFsmTestbed;
  let ops: OrderFsmOps;
  let store: OrderStore;

  const pausedOrder = async (machineVersion: number): Promise<string> => {
    const at = new Date();
    const orderId = await orderInA(store, 'resume', machineVersion, at, new Date(at.getTime() + 60_000));
    await ops.pause(OPERATOR, orderId, { reason: 'looking into it' });
    return orderId;
  };
  const workOf = async (orderId: string) =>
    (await testbed.dataSource.query("SELECT payload FROM fsm_outbox WHERE order_id = ? AND kind = 'work'", [orderId])).map(
      (row: { payload: string }) => (JSON.parse(row.payload) as { event: string }).event,
    );

  beforeAll(async () => {
    testbed = await OrderFsmTestbed.create({
      machine: v3,
      previousMachines: [v2],
      migrations: [v1ToV2],
      automatic: false,
      imports: [OrderFsmOpsModule.forRoot({ callerOf: () => OPERATOR, roles: ['operator'] })],
    });
    ops = testbed.app.get(OrderFsmOps);
    store = testbed.app.get(ORDER_STORE);
  });
  afterAll(async () => {
    await testbed?.close();
  });

  it("shows and queues v2's work for a v2 order, refuses to resume an order of an unserved version, and migrates a retired one it resumes", async () => {
    const ofV2 = await pausedOrder(2);
    expect((await ops.orderDetail(ofV2)).automaticWork).toMatchObject({ event: 'GO' });
    await ops.resume(OPERATOR, ofV2, { reason: 'done looking' });
    expect(await workOf(ofV2)).toEqual(['GO']);

    const ofV3 = await pausedOrder(3);
    expect((await ops.orderDetail(ofV3)).automaticWork).toMatchObject({ event: 'ADVANCE' });
    await ops.resume(OPERATOR, ofV3, { reason: 'done looking' });
    expect(await workOf(ofV3)).toEqual(['ADVANCE']);

    // v7 is newer than this instance serves (an instance of a newer release made it): no work is
    // shown, and a resume is answered "not yet" with nothing written: it stays paused, still due.
    const ofV7 = await pausedOrder(7);
    expect((await ops.orderDetail(ofV7)).automaticWork).toBeNull();
    await expect(ops.resume(OPERATOR, ofV7, { reason: 'done looking' })).rejects.toMatchObject({ code: 'MACHINE_VERSION_NOT_YET_SERVED', httpStatus: 503 });
    const detail = await ops.orderDetail(ofV7);
    expect(detail.order.paused).toBeTruthy();
    expect(detail.order.autoDueAt).toBeInstanceOf(Date);
    expect(await workOf(ofV7)).toEqual([]);

    // v1 is retired, with a migration to v2: a resume resumes it, and it is migrated at once, with v2's work for A.
    const ofV1 = await pausedOrder(1);
    expect((await ops.orderDetail(ofV1)).automaticWork).toBeNull();
    const resumed = await ops.resume(OPERATOR, ofV1, { reason: 'done looking' });
    expect(resumed).toMatchObject({ state: 'A', machineVersion: 2, version: 2 });
    expect(resumed.paused).toBeFalsy();
    expect(await workOf(ofV1)).toEqual(['GO']);
    expect((await ops.orderDetail(ofV1)).automaticWork).toMatchObject({ event: 'GO' });
  });
});

/**
 * A machine whose PAY, arriving before CONFIRM, is held. A service serves v3 alone: v2 is retired
 * with a migration to v3 declared, v1 is retired with none.
 */
const heldMachineOf = (version: number) =>
  defineMachine({
    name: 'held-test',
    version,
    initial: 'INIT',
    states: { WAITING: {}, CONFIRMED: {}, PAID: { final: true } },
    transitions: [
      { from: 'INIT', event: 'CREATE', to: 'WAITING' },
      { from: 'WAITING', event: 'CONFIRM', to: 'CONFIRMED' },
      { from: 'CONFIRMED', event: 'PAY', to: 'PAID' },
    ],
    events: { PAY: { late: { WAITING: { hold: { forMs: 600_000 } } } } },
  });
const held2 = heldMachineOf(2);
const held3 = heldMachineOf(3);
const held2ToHeld3 = defineMigration({ from: held2, to: held3, states: { WAITING: 'WAITING', CONFIRMED: 'CONFIRMED' } });

@OrderProcessor({ state: 'CONFIRMED', event: 'PAY' })
class PayProcessor extends AbstractStateProcessor {
  getNextState(): string {
    return 'PAID';
  }
  action(): ServiceResult {
    return ServiceResult.ok();
  }
}

/**
 * The held event poller in a service on the suite's database: a PAY held while its order waited
 * under a version that was retired since is released once the order is migrated, as an event sent
 * to it would migrate it; where no migration is declared from the order's version, it is refused. A
 * held event of an order of a version newer than the instance serves waits for an instance that does.
 */
describe(`HeldEventPoller on ${DATABASE_NAME}: a held event of an order of a retired machine version`, () => {
  let dataSource: DataSource;
  let app: INestApplicationContext;
  let store: OrderStore;
  let poller: HeldEventPoller;
  const made: string[] = [];

  /**
   * An order of `machineVersion` that got PAY in WAITING (held), then CONFIRM, whose transition woke
   * the held PAY: written straight to the store, at DUE, as the release that served that version did.
   */
  const confirmedWithHeldPay = async (machineVersion: number): Promise<string> => {
    const orderId = await orderInA(store, 'held', machineVersion, DUE, DUE, 'WAITING');
    made.push(orderId);
    const waiting = (await store.load(orderId))!;
    await store.recordLateEvent({
      order: waiting, event: 'PAY', requestId: `pay-${randomUUID()}`, requestHash: 'h'.repeat(64), caller: 'payments', callerRole: 'payment', source: 'api',
      payload: JSON.stringify({ paymentId: 'p-1' }), policy: 'hold', status: 'held', response: '{}', deadline: new Date(NOW.getTime() + 600_000), at: DUE, messages: [],
    });
    await store.commit({
      order: waiting, toState: 'CONFIRMED', event: 'CONFIRM', requestId: `req-${randomUUID()}`, requestHash: 'h'.repeat(64), caller: 'spec', source: 'api',
      at: DUE, messages: [], autoDueAt: null, outcome: { response: '{}', timers: [] },
    });
    await store.wakeHeldEvents(orderId, DUE);
    return orderId;
  };
  const logOf = async (orderId: string) =>
    (await store.listTransitions(orderId)).map((row) => [row.event, row.fromState, row.toState, row.source, row.machineVersion]);

  beforeAll(async () => {
    dataSource = await openDatabase({ engineSchema: true });
    class HeldTestModule {}
    Module({
      imports: [
        OrderFsmModule.forRoot({
          machine: held3, migrations: [held2ToHeld3], store: orderStoreFor(dataSource), lock: false,
          timers: { enabled: false }, sweeper: { enabled: false }, worker: { enabled: false },
        }),
      ],
      providers: [PayProcessor],
    })(HeldTestModule);
    app = await NestFactory.createApplicationContext(HeldTestModule, { logger: ['error'] });
    store = app.get(ORDER_STORE);
    poller = app.get(HeldEventPoller);
  });
  afterAll(async () => {
    await app?.close();
    if (made.length > 0) {
      for (const table of ['fsm_outbox', 'fsm_late_event', 'fsm_timer', 'fsm_transition']) await sql(dataSource, `DELETE FROM ${table} WHERE order_id IN (?)`, [made]);
      await sql(dataSource, 'DELETE FROM fsm_order WHERE id IN (?)', [made]);
    }
    await dataSource?.destroy();
  });

  it('migrates an order of the retired v2 first, then releases its held PAY under v3', async () => {
    const orderId = await confirmedWithHeldPay(2);
    expect(await poller.releaseDue(NOW, 100)).toBeGreaterThanOrEqual(1);

    expect(await store.listLateEvents(orderId)).toEqual([expect.objectContaining({ event: 'PAY', policy: 'hold', status: 'released', outcome: 'applied v4' })]);
    expect(await logOf(orderId)).toEqual([
      ['CREATE', 'INIT', 'WAITING', 'api', 2],
      ['CONFIRM', 'WAITING', 'CONFIRMED', 'api', 2],
      ['@migrate', 'CONFIRMED', 'CONFIRMED', 'migration', 3],
      ['PAY', 'CONFIRMED', 'PAID', 'held', 3],
    ]);
    expect(await store.load(orderId)).toMatchObject({ state: 'PAID', version: 4, machineVersion: 3 });
  });

  it('refuses the held PAY of an order of the retired v1, from which no migration is declared, and leaves the order as it is', async () => {
    const orderId = await confirmedWithHeldPay(1);
    expect(await poller.releaseDue(NOW, 100)).toBeGreaterThanOrEqual(1);

    expect(await store.listLateEvents(orderId)).toEqual([
      expect.objectContaining({
        event: 'PAY',
        status: 'refused',
        outcome: `MACHINE_VERSION_NOT_SERVED: order ${orderId} follows held-test v1, which this service does not serve (it serves v3) and no migration moves on from`,
      }),
    ]);
    expect(await logOf(orderId)).toEqual([
      ['CREATE', 'INIT', 'WAITING', 'api', 1],
      ['CONFIRM', 'WAITING', 'CONFIRMED', 'api', 1],
    ]);
    expect(await store.load(orderId)).toMatchObject({ state: 'CONFIRMED', version: 2, machineVersion: 1 });
  });

  it('keeps the held PAY of an order of v4, newer than this instance serves, for an instance that serves it, past its deadline too', async () => {
    // Made by an instance of a newer release, during a rolling deploy.
    const orderId = await confirmedWithHeldPay(4);
    expect(await poller.releaseDue(NOW, 100)).toBeGreaterThanOrEqual(1);
    expect(await store.listLateEvents(orderId)).toEqual([expect.objectContaining({ event: 'PAY', status: 'held' })]);
    // Looked at again 10 s later, not every second; still not this instance's to release.
    const nextCheck = async () => new Date((await sql(dataSource, 'SELECT next_check_at FROM fsm_late_event WHERE order_id = ?', [orderId]))[0]!.next_check_at).getTime();
    expect(await nextCheck()).toBe(NOW.getTime() + 10_000);
    expect(await poller.releaseDue(new Date(NOW.getTime() + 10_000), 100)).toBeGreaterThanOrEqual(1);
    expect(await store.listLateEvents(orderId)).toEqual([expect.objectContaining({ event: 'PAY', status: 'held' })]);

    // Past its deadline it is still not this instance's to end: v4's policy may give the payment
    // back on expiry, which only an instance that serves v4 knows. It waits for one, 10 s at a time.
    const late = new Date(NOW.getTime() + 600_000);
    expect(await poller.releaseDue(late, 100)).toBeGreaterThanOrEqual(1);
    expect(await store.listLateEvents(orderId)).toEqual([expect.objectContaining({ event: 'PAY', status: 'held' })]);
    expect(await nextCheck()).toBe(late.getTime() + 10_000);
    expect(await logOf(orderId)).toEqual([
      ['CREATE', 'INIT', 'WAITING', 'api', 4],
      ['CONFIRM', 'WAITING', 'CONFIRMED', 'api', 4],
    ]);

    // An instance of the newer release, which serves v4, looks at it next and releases it.
    class NewerReleaseModule {}
    Module({
      imports: [
        OrderFsmModule.forRoot({
          machine: heldMachineOf(4), previousMachines: [held3], store: orderStoreFor(dataSource), lock: false,
          timers: { enabled: false }, sweeper: { enabled: false }, worker: { enabled: false },
        }),
      ],
      providers: [PayProcessor],
    })(NewerReleaseModule);
    const newer = await NestFactory.createApplicationContext(NewerReleaseModule, { logger: ['error'] });
    try {
      expect(await newer.get(HeldEventPoller).releaseDue(new Date(late.getTime() + 10_000), 100)).toBeGreaterThanOrEqual(1);
    } finally {
      await newer.close();
    }
    expect(await store.listLateEvents(orderId)).toEqual([expect.objectContaining({ event: 'PAY', status: 'released', outcome: 'applied v3' })]);
    expect((await logOf(orderId)).at(-1)).toEqual(['PAY', 'CONFIRMED', 'PAID', 'held', 4]);
  });

});
