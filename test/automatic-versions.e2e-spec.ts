import { randomUUID } from 'node:crypto';
import { defineMachine, type FsmOrder, type MachineDefinition, ORDER_STORE, type OrderStore } from '@order-fsm/core';
import { OrderFsmOps, OrderFsmOpsModule } from '@order-fsm/core/ops';
import { OrderFsmTestbed } from '@order-fsm/core/testing';
import type { DataSource } from 'typeorm';
import type { ResolvedOrderFsmOptions } from '../libs/order-fsm/src/order-fsm.options.js';
import { Sweeper, UNSERVED_VERSION_RECHECK_MS } from '../libs/order-fsm/src/workers/sweeper.js';
import { DATABASE_NAME, openDatabase, orderStoreFor, sql } from './support/database.js';

/**
 * The sweeper on the suite's database (MariaDB, or PostgreSQL in the e2e-postgres project), with a
 * machine whose two versions give state A different automatic work: v1 sends GO, v2 sends ADVANCE.
 * An order stuck in A gets the work of the version it follows, not the current one's; an order of a
 * version the service does not serve is left alone, due again later, rather than given another
 * version's work or dropped from the sweeps for good.
 */

const v1 = defineMachine({
  name: 'sweep-test',
  version: 1,
  initial: 'INIT',
  states: { A: { automatic: { event: 'GO', stuckAfterMs: 1_000 } }, B: { final: true } },
  transitions: [
    { from: 'INIT', event: 'CREATE', to: 'A' },
    { from: 'A', event: 'GO', to: 'B' },
  ],
});
const v2 = defineMachine({
  name: 'sweep-test',
  version: 2,
  initial: 'INIT',
  states: { A: { automatic: { event: 'ADVANCE', stuckAfterMs: 2_000 } }, C: { final: true } },
  transitions: [
    { from: 'INIT', event: 'CREATE', to: 'A' },
    { from: 'A', event: 'ADVANCE', to: 'C' },
  ],
});

// Due long before anything another suite leaves in the tables, with a clock of the spec's own just
// after: the sweeps below find these orders only.
const DUE = new Date(Date.UTC(1998, 0, 1));
const NOW = new Date(DUE.getTime() + 10_000);

describe(`Sweeper on ${DATABASE_NAME}: each stuck order gets its own machine version's work`, () => {
  let dataSource: DataSource;
  let store: OrderStore;
  let sweeper: Sweeper;
  const made: string[] = [];

  /** An order in A, following machine version `machineVersion`, whose automatic work is overdue. */
  const stuckOrder = async (machineVersion: number): Promise<string> => {
    const order: FsmOrder = { orderId: `sweep-${randomUUID()}`, bizCode: 'TAXI', sceneId: 'CITY', state: 'INIT', version: 0, data: {} };
    made.push(order.orderId);
    await store.commit({
      order,
      toState: 'A',
      event: 'CREATE',
      requestId: `req-${randomUUID()}`,
      requestHash: 'h'.repeat(64),
      caller: 'sweeper-spec',
      source: 'api',
      at: DUE,
      machineVersion,
      messages: [],
      autoDueAt: DUE,
      outcome: { response: '{}', timers: [] },
    });
    return order.orderId;
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
    store = orderStoreFor(dataSource);
    // The service serves v2 (current) and v1, not v3.
    const options = { machine: v2, machines: new Map<number, MachineDefinition>([[1, v1], [2, v2]]), sweeper: { enabled: false, intervalMs: 60_000, batchSize: 100 } } as unknown as ResolvedOrderFsmOptions;
    sweeper = new Sweeper(options, store);
  });
  afterAll(async () => {
    for (const table of ['fsm_outbox', 'fsm_transition']) await sql(dataSource, `DELETE FROM ${table} WHERE order_id IN (?)`, [made]);
    await sql(dataSource, 'DELETE FROM fsm_order WHERE id IN (?)', [made]);
    await dataSource.destroy();
  });

  it("queues v1's work for a v1 order, v2's for a v2 order, and leaves an order of an unserved version for later", async () => {
    const [ofV1, ofV2, ofV3] = [await stuckOrder(1), await stuckOrder(2), await stuckOrder(3)];
    // All three are due at the same instant: found in no particular order.
    const found = (await store.findStuck(NOW, 100)).filter((o) => made.includes(o.orderId));
    expect(found.map((o) => [o.orderId, o.machineVersion]).sort((a, b) => Number(a[1]) - Number(b[1]))).toEqual([
      [ofV1, 1],
      [ofV2, 2],
      [ofV3, 3],
    ]);

    expect(await sweeper.sweep(NOW)).toBe(2);
    expect(await workOf(ofV1)).toEqual([expect.objectContaining({ event: 'GO', version: 1, origin: 'sweeper' })]);
    expect(await workOf(ofV2)).toEqual([expect.objectContaining({ event: 'ADVANCE', version: 1, origin: 'sweeper' })]);
    // Each is due again after its own version's stuck limit.
    expect(await dueAt(ofV1)).toBe(NOW.getTime() + 1_000);
    expect(await dueAt(ofV2)).toBe(NOW.getTime() + 2_000);
    // v3's order: no work, and still due (later), so that an instance serving v3 sweeps it.
    expect(await workOf(ofV3)).toEqual([]);
    expect(await dueAt(ofV3)).toBe(NOW.getTime() + UNSERVED_VERSION_RECHECK_MS);

    // Not found again before its new due time; found again once it has passed.
    expect((await store.findStuck(NOW, 100)).filter((o) => made.includes(o.orderId))).toEqual([]);
    const later = new Date(NOW.getTime() + UNSERVED_VERSION_RECHECK_MS);
    // Due one, two and sixty seconds after the sweep: found in that order.
    expect((await store.findStuck(later, 100)).filter((o) => made.includes(o.orderId)).map((o) => o.orderId)).toEqual([ofV1, ofV2, ofV3]);
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
    const order: FsmOrder = { orderId: `resume-${randomUUID()}`, bizCode: 'TAXI', sceneId: 'CITY', state: 'INIT', version: 0, data: {} };
    const at = new Date();
    await store.commit({
      order, toState: 'A', event: 'CREATE', requestId: `req-${randomUUID()}`, requestHash: 'h'.repeat(64), caller: 'spec', source: 'api',
      at, machineVersion, messages: [], autoDueAt: new Date(at.getTime() + 60_000), outcome: { response: '{}', timers: [] },
    });
    await ops.pause(OPERATOR, order.orderId, { reason: 'looking into it' });
    return order.orderId;
  };
  const workOf = async (orderId: string) =>
    (await testbed.dataSource.query("SELECT payload FROM fsm_outbox WHERE order_id = ? AND kind = 'work'", [orderId])).map(
      (row: { payload: string }) => (JSON.parse(row.payload) as { event: string }).event,
    );

  beforeAll(async () => {
    testbed = await OrderFsmTestbed.create({
      machine: v2,
      previousMachines: [v1],
      automatic: false,
      imports: [OrderFsmOpsModule.forRoot({ callerOf: () => OPERATOR, roles: ['operator'] })],
    });
    ops = testbed.app.get(OrderFsmOps);
    store = testbed.app.get(ORDER_STORE);
  });
  afterAll(async () => {
    await testbed?.close();
  });

  it("shows and queues v1's work for a v1 order, and refuses to resume an order of an unserved version", async () => {
    const ofV1 = await pausedOrder(1);
    expect((await ops.orderDetail(ofV1)).automaticWork).toMatchObject({ event: 'GO' });
    await ops.resume(OPERATOR, ofV1, { reason: 'done looking' });
    expect(await workOf(ofV1)).toEqual(['GO']);

    const ofV2 = await pausedOrder(2);
    expect((await ops.orderDetail(ofV2)).automaticWork).toMatchObject({ event: 'ADVANCE' });
    await ops.resume(OPERATOR, ofV2, { reason: 'done looking' });
    expect(await workOf(ofV2)).toEqual(['ADVANCE']);

    // v3 is not served: no work is shown, and a resume is refused with nothing written: it stays paused, still due.
    const ofV3 = await pausedOrder(3);
    expect((await ops.orderDetail(ofV3)).automaticWork).toBeNull();
    await expect(ops.resume(OPERATOR, ofV3, { reason: 'done looking' })).rejects.toMatchObject({ code: 'MACHINE_VERSION_NOT_SERVED' });
    const detail = await ops.orderDetail(ofV3);
    expect(detail.order.paused).toBeTruthy();
    expect(detail.order.autoDueAt).toBeInstanceOf(Date);
    expect(await workOf(ofV3)).toEqual([]);
  });
});
