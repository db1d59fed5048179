import { randomInt, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Injectable, Logger, Module } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  AbstractStateProcessor,
  defineMachine,
  errorKindOf,
  type FsmOrder,
  ORDER_STORE,
  OrderFsmEngine,
  OrderFsmModule,
  OrderProcessor,
  type OrderStore,
  ServiceResult,
} from '@order-fsm/core';
import type { DataSource } from 'typeorm';
import { HeldEventPoller } from '../libs/order-fsm/src/workers/held-event-poller.js';
import { OrderFsmWorker } from '../libs/order-fsm/src/workers/order-fsm.worker.js';
import { NOT_YET_SERVED_RETRY_MS, TimerPoller } from '../libs/order-fsm/src/workers/timer-poller.js';
import { DATABASE_NAME, openDatabase, orderStoreFor, sql } from './support/database.js';

/**
 * A rolling deploy that brings machine v2: for a while, instances of the release before (serving v1
 * alone) run beside instances of the new one (serving v2 and v1), on one database and one broker. A
 * v2 order's automatic work or timer that reaches an old instance is not its to apply, and not a
 * fault of the work either: it must wait for an instance that serves v2, never be dead-lettered (its
 * order flagged for a person) or spent. An order of a version retired for good is another matter:
 * nothing will serve it, and its work goes to the dead letters at once, as before.
 */
const machineOf = (version: number, pingedBy: string) =>
  defineMachine({
    name: 'rolling-test',
    version,
    initial: 'INIT',
    states: { A: { automatic: { event: 'GO' } }, B: { final: true } },
    transitions: [
      { from: 'INIT', event: 'CREATE', to: 'A' },
      { from: 'A', event: 'GO', to: 'B' },
      { from: 'A', event: 'PING', to: 'A' },
    ],
    // Who may send PING changed in v2.
    events: { CREATE: { sentBy: 'client' }, GO: { sentBy: 'system' }, PING: { sentBy: pingedBy } },
  });
const v1 = machineOf(1, 'client');
const v2 = machineOf(2, 'driver');

/** GO, for the current version of whichever instance registers it. */
@Injectable()
@OrderProcessor({ state: 'A', event: 'GO', bizCode: 'ROLL' })
class Go extends AbstractStateProcessor {
  getNextState() {
    return 'B';
  }
  action() {
    return ServiceResult.ok();
  }
}

// A timer due at a past instant of this run's own (in 2011 to 2019: long before anything due in the
// present, apart from the other specs' own past instants), and a clock just after it.
const DUE = new Date(Date.UTC(2011, 0, 1) + randomInt(8 * 365 * 24 * 3_600) * 1_000);
const NOW = new Date(DUE.getTime() + 10_000);

describe(`a rolling deploy on ${DATABASE_NAME}: work and timers of a version an instance does not serve wait for one that does`, () => {
  let dataSource: DataSource;
  let old: INestApplicationContext;
  let current: INestApplicationContext;
  let retiring: INestApplicationContext;
  let store: OrderStore;
  const made: string[] = [];

  const instance = async (machine: ReturnType<typeof machineOf>, previousMachines: ReturnType<typeof machineOf>[]) => {
    class RollingInstanceModule {}
    Module({
      imports: [
        OrderFsmModule.forRoot({
          machine, previousMachines, store: orderStoreFor(dataSource), lock: false,
          timers: { enabled: false }, sweeper: { enabled: false }, worker: { enabled: false }, relay: { enabled: false },
        }),
      ],
      providers: [Go],
    })(RollingInstanceModule);
    return NestFactory.createApplicationContext(RollingInstanceModule, { logger: ['error'] });
  };

  /** An order in A of `machineVersion` (v2: as an instance of the new release made it), with a timer for GO due at DUE. */
  const v2OrderInA = async (machineVersion = 2): Promise<string> => {
    const order: FsmOrder = { orderId: `roll-${randomUUID()}`, bizCode: 'ROLL', sceneId: 'S', state: 'INIT', version: 0, data: {} };
    made.push(order.orderId);
    await store.commit({
      order, toState: 'A', event: 'CREATE', requestId: `req-${randomUUID()}`, requestHash: 'h'.repeat(64), caller: 'spec', source: 'api',
      at: DUE, machineVersion, messages: [], autoDueAt: new Date(DUE.getTime() + 3_600_000),
      outcome: { response: '{}', timers: [{ event: 'GO', fireAt: DUE }] },
    });
    return order.orderId;
  };
  const orderRow = async (orderId: string) => (await sql(dataSource, 'SELECT state, version, flagged_at FROM fsm_order WHERE id = ?', [orderId]))[0]!;
  const timerRow = async (orderId: string) => (await sql(dataSource, 'SELECT fire_at, fired_at, outcome FROM fsm_timer WHERE order_id = ?', [orderId]))[0]!;

  beforeAll(async () => {
    dataSource = await openDatabase({ engineSchema: true });
    old = await instance(v1, []);
    current = await instance(v2, [v1]);
    // A later release that retired v1 with no migration from it.
    retiring = await instance(v2, []);
    store = current.get(ORDER_STORE);
  });
  afterAll(async () => {
    await old?.close();
    await current?.close();
    await retiring?.close();
    if (made.length > 0) {
      for (const table of ['fsm_outbox', 'fsm_transition', 'fsm_timer', 'fsm_work_attempt', 'fsm_dead_letter', 'fsm_late_event']) {
        await sql(dataSource, `DELETE FROM ${table} WHERE order_id IN (?)`, [made]).catch(() => undefined);
      }
      await sql(dataSource, 'DELETE FROM fsm_order WHERE id IN (?)', [made]);
    }
    await dataSource?.destroy();
  });

  it('an old instance answers MACHINE_VERSION_NOT_YET_SERVED (503) to a v2 order: try again, on another instance', async () => {
    const orderId = await v2OrderInA();
    const requestId = `r-${randomUUID()}`;
    // GO is the system's (the worker sends it).
    const go = { eventType: 'GO', orderId, requestId, source: 'worker' as const };
    await expect(old.get(OrderFsmEngine).sendEvent(go)).rejects.toMatchObject({
      code: 'MACHINE_VERSION_NOT_YET_SERVED',
      httpStatus: 503,
      details: { orderId, machineVersion: 2, served: [1] },
    });
    expect(await orderRow(orderId)).toMatchObject({ state: 'A', version: 1 });
    // What the worker, the timers, the held events and the brokers read: try again, nothing spent.
    expect(errorKindOf('MACHINE_VERSION_NOT_YET_SERVED')).toBe('transient');
    // The same request, sent again to a new instance, applies.
    expect(await current.get(OrderFsmEngine).sendEvent(go)).toMatchObject({ toState: 'B', version: 2 });
  });

  it('an old instance answers MACHINE_VERSION_NOT_YET_SERVED, not FORBIDDEN, to an event v2 lets the caller send and v1 did not', async () => {
    const caller = { name: 'd-1', role: 'driver' };
    const ofV2 = await v2OrderInA();
    await expect(old.get(OrderFsmEngine).sendEvent({ eventType: 'PING', orderId: ofV2, requestId: `r-${randomUUID()}`, caller })).rejects.toMatchObject({
      code: 'MACHINE_VERSION_NOT_YET_SERVED',
    });
    // A v1 order: v1's rule, as before.
    const ofV1 = await v2OrderInA(1);
    await expect(old.get(OrderFsmEngine).sendEvent({ eventType: 'PING', orderId: ofV1, requestId: `r-${randomUUID()}`, caller })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await orderRow(ofV2)).toMatchObject({ state: 'A', version: 1 });
  });

  it("a v2 order's automatic work waits on an old instance, without a dead letter or a flag, and applies on a new one", async () => {
    const orderId = await v2OrderInA();
    const work = { messageId: `${orderId}:1:work`, orderId, version: 1, state: 'A', event: 'GO', origin: 'transition' as const };

    const warn = jest.spyOn(Logger.prototype, 'warn');
    const debug = jest.spyOn(Logger.prototype, 'debug');
    const lines = (spy: typeof warn) => spy.mock.calls.map(([line]) => String(line)).filter((line) => line.includes(orderId));
    try {
      const onOld = await old.get(OrderFsmWorker).handle(work, 1);
      // Waiting, patiently: the broker brings it back after its longest delay as the same attempt, however long the deploy takes.
      expect(onOld).toEqual({ outcome: 'wait', patient: true, reason: expect.stringMatching(/^MACHINE_VERSION_NOT_YET_SERVED: /) });
      // Back again (a deploy rolled back can leave it waiting for hours): said once as a warning, then at debug.
      expect(await old.get(OrderFsmWorker).handle(work, 1)).toMatchObject({ outcome: 'wait', patient: true });
      expect(await old.get(OrderFsmWorker).handle(work, 1)).toMatchObject({ outcome: 'wait', patient: true });
      expect(lines(warn)).toEqual([expect.stringMatching(/^automatic GO for order \S+ waits: MACHINE_VERSION_NOT_YET_SERVED: /)]);
      expect(lines(debug)).toEqual([expect.stringMatching(/waits: MACHINE_VERSION_NOT_YET_SERVED: .* \(again\)$/), expect.stringMatching(/\(again\)$/)]);
    } finally {
      warn.mockRestore();
      debug.mockRestore();
    }
    const row = await orderRow(orderId);
    expect(row).toMatchObject({ state: 'A', version: 1 });
    expect(row.flagged_at).toBeNull();

    const onNew = await current.get(OrderFsmWorker).handle(work, 1);
    expect(onNew).toMatchObject({ outcome: 'done', detail: 'applied A -> B' });
    expect(await orderRow(orderId)).toMatchObject({ state: 'B', version: 2 });
  });

  it("a v2 order's timer is not spent on an old instance: it comes due again, and fires on a new one", async () => {
    const orderId = await v2OrderInA();
    const before = Date.now();
    expect(await old.get(TimerPoller).fireDue(NOW, 100)).toBeGreaterThanOrEqual(1);
    const held = await timerRow(orderId);
    // Still pending, with no outcome, and due again 10 s later (in the present, the time of the retry).
    expect(held.fired_at).toBeNull();
    expect(held.outcome).toBeNull();
    expect(new Date(held.fire_at).getTime()).toBeGreaterThanOrEqual(before + NOT_YET_SERVED_RETRY_MS - 1_000);
    expect(await orderRow(orderId)).toMatchObject({ state: 'A', version: 1 });

    // Back to its own past instant, where only this run's timers are due, for a new instance's poller.
    await sql(dataSource, 'UPDATE fsm_timer SET fire_at = ? WHERE order_id = ?', [DUE, orderId]);
    expect(await current.get(TimerPoller).fireDue(NOW, 100)).toBeGreaterThanOrEqual(1);
    expect(await orderRow(orderId)).toMatchObject({ state: 'B', version: 2 });
    const fired = await timerRow(orderId);
    expect(fired.fired_at).not.toBeNull();
  });

  it('an order of a version retired for good, with no migration from it, is refused: its work goes to the dead letters at once, its timer is spent', async () => {
    const orderId = await v2OrderInA(1);
    const work = { messageId: `${orderId}:1:work`, orderId, version: 1, state: 'A', event: 'GO', origin: 'transition' as const };
    expect(await retiring.get(OrderFsmWorker).handle(work, 1)).toEqual({ outcome: 'dead', reason: expect.stringMatching(/^MACHINE_VERSION_NOT_SERVED: /) });
    expect(errorKindOf('MACHINE_VERSION_NOT_SERVED')).toBe('refused');

    expect(await retiring.get(TimerPoller).fireDue(NOW, 100)).toBeGreaterThanOrEqual(1);
    const timer = await timerRow(orderId);
    expect(timer.fired_at).not.toBeNull();
    expect(timer.outcome).toBe('MACHINE_VERSION_NOT_SERVED');
    expect(await orderRow(orderId)).toMatchObject({ state: 'A', version: 1 });

    // A late event held for it is refused too, its outcome led by the code, as every refusal's is.
    await sql(
      dataSource,
      'INSERT INTO fsm_late_event (order_id, version, state, event, request_id, caller, source, request_hash, policy, status, response, deadline, next_check_at, created_at) ' +
        "VALUES (?, 1, 'A', 'PING', ?, 'spec', 'api', ?, 'hold', 'held', '{}', ?, ?, ?)",
      [orderId, `held-${randomUUID()}`, 'h'.repeat(64), new Date(NOW.getTime() + 3_600_000), DUE, DUE],
    );
    expect(await retiring.get(HeldEventPoller).releaseDue(NOW, 100)).toBeGreaterThanOrEqual(1);
    const [held] = await sql(dataSource, 'SELECT status, outcome FROM fsm_late_event WHERE order_id = ?', [orderId]);
    expect(held).toMatchObject({ status: 'refused', outcome: expect.stringMatching(/^MACHINE_VERSION_NOT_SERVED: /) });
  });
});
