import { type ReplayDifference, type ReplayedOrder, shadowReplay } from '@order-fsm/core/testing';
import type { DataSource } from 'typeorm';
import { main } from '../apps/order-service/src/cli.js';
import { readOrders } from '../apps/order-service/src/replay.js';
import { candidate as taxiCandidate } from '../apps/order-service/src/taxi/replay-candidate.js';
import { asCaller } from './support/callers.js';
import { checksumTables, DATABASE_NAME } from './support/database.js';
import { BANNED_DRIVER, bannedDriverCandidate, feeOnceAcceptedCandidate, noCancelOnceAcceptedCandidate, renamedAcceptCandidate } from './support/replay-candidates.js';
import { TO_FEE_CONFIRMED, advance, createOrder, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const OWN_MACHINE = 'apps/order-service/src/taxi/replay-candidate.ts';
const BANNED_MACHINE = 'test/support/replay-candidate-banned.ts';

describe(`shadow replay: real orders on ${DATABASE_NAME} against a candidate machine`, () => {
  let t: TestApp;
  let since: Date;
  // A ride paid and closed by the app; an ENTERPRISE ride the worker paid and closed; a ride the
  // banned driver accepted, then cancelled; an order an operator forced; one the accept timer cancelled.
  const orders = {} as Record<'ride' | 'enterprise' | 'banned' | 'forced' | 'timedOut', string>;
  const ids = () => Object.values(orders);

  const read = async (): Promise<ReplayedOrder[]> => {
    const read: ReplayedOrder[] = [];
    for await (const order of readOrders(t.dataSource, { orderIds: ids() })) read.push(order);
    return read;
  };
  const differenceOf = (differences: readonly ReplayDifference[], orderId: string) => differences.filter((d) => d.orderId === orderId);

  beforeAll(async () => {
    // Nothing runs by itself: the worker's and the timers' events are sent as they would send them.
    t = await startTestApp({ relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false });
    since = new Date(Date.now() - 1);

    orders.ride = await createOrder(t);
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, orders.ride, event, payload);
    await advance(t, orders.ride, 'PAY', { paymentId: uid('pay') });
    await advance(t, orders.ride, 'CLOSE');

    orders.enterprise = await createOrder(t, { bizCode: 'PREMIUM', sceneId: 'ENTERPRISE' });
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, orders.enterprise, event, payload);
    for (const event of ['AUTO_PAY', 'CLOSE']) await t.engine.sendEvent({ eventType: event, orderId: orders.enterprise, requestId: uid('work'), source: 'worker' });

    orders.banned = await createOrder(t);
    await advance(t, orders.banned, 'ACCEPT', { driverId: BANNED_DRIVER });
    await advance(t, orders.banned, 'CANCEL');

    orders.forced = await createOrder(t);
    await t.engine.force({ orderId: orders.forced, toState: 'CANCELLED', reason: 'the passenger called support', operator: asCaller('operator') });

    orders.timedOut = await createOrder(t);
    await t.engine.sendEvent({ eventType: 'ACCEPT_TIMEOUT', orderId: orders.timedOut, requestId: uid('timer'), source: 'timer' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('reads each order with a transition since --since, with its whole log, dimensions and payloads', async () => {
    const read: ReplayedOrder[] = [];
    for await (const order of readOrders(t.dataSource, { since, orderIds: [] })) read.push(order);
    expect(read.map((o) => o.orderId).sort()).toEqual(ids().sort());
    const enterprise = read.find((o) => o.orderId === orders.enterprise)!;
    expect(enterprise).toMatchObject({ bizCode: 'PREMIUM', sceneId: 'ENTERPRISE' });
    expect(enterprise.transitions.map((e) => [e.version, e.event, e.source, e.processor])).toEqual([
      [1, 'CREATE', 'api', 'CreateOrderProcessor'],
      [2, 'ACCEPT', 'api', 'AcceptOrderProcessor'],
      [3, 'ARRIVE', 'api', 'ArriveProcessor'],
      [4, 'START_TRIP', 'api', 'StartTripProcessor'],
      [5, 'END_TRIP', 'api', 'EndTripProcessor'],
      [6, 'CONFIRM_FEE', 'api', 'ConfirmFeeWithReviewProcessor'],
      [7, 'AUTO_PAY', 'worker', 'CompanyAutoPayProcessor'],
      [8, 'CLOSE', 'worker', 'CloseProcessor'],
    ]);
    expect(enterprise.transitions[1].payload).toEqual({ driverId: 'd-1' });
    // --until before them all selects none of them; --limit keeps the first orders.
    const none: ReplayedOrder[] = [];
    for await (const order of readOrders(t.dataSource, { since: new Date(since.getTime() - 60_000), until: since, orderIds: ids() })) none.push(order);
    expect(none).toEqual([]);
    const limited: string[] = [];
    for await (const order of readOrders(t.dataSource, { since, orderIds: [], limit: 2 })) limited.push(order.orderId);
    expect(limited).toEqual([orders.ride, orders.enterprise]);
  });

  it('against the service’s own machine: every decision the same, forced moves followed, nothing written to the database', async () => {
    const before = await checksumTables(t.dataSource);
    const report = await shadowReplay({ orders: await read(), candidate: taxiCandidate });
    expect(report).toEqual({ orders: 5, events: 8 + 8 + 3 + 2 + 2, differences: [], incomplete: [] });
    expect(await checksumTables(t.dataSource)).toBe(before);
  });

  it('a checker that fails: the order, version and event, CHECK_FAILED with the checker’s reason; the order stops there', async () => {
    const report = await shadowReplay({ orders: await read(), candidate: bannedDriverCandidate() });
    expect(report.orders).toBe(5);
    // The banned order's CANCEL is not replayed: it diverged at ACCEPT.
    expect(report.events).toBe(8 + 8 + 2 + 2 + 2);
    expect(report.differences).toEqual([
      {
        kind: 'checker',
        orderId: orders.banned,
        bizCode: 'EXPRESS',
        sceneId: 'APP',
        version: 2,
        event: 'ACCEPT',
        source: 'api',
        fromState: 'CREATED',
        logged: { toState: 'ACCEPTED', processor: 'AcceptOrderProcessor' },
        candidate: { refused: { code: 'CHECK_FAILED', message: expect.stringContaining(`driver ${BANNED_DRIVER} may take no rides`), details: expect.objectContaining({ reason: 'DRIVER_BANNED' }) } },
      },
    ]);
  });

  it('another processor deciding the same next state: kind `processor`, in each order it decides', async () => {
    const report = await shadowReplay({ orders: await read(), candidate: renamedAcceptCandidate() });
    expect(report.differences.map((d) => [d.orderId, d.kind, d.version, d.event])).toEqual([
      [orders.ride, 'processor', 2, 'ACCEPT'],
      [orders.enterprise, 'processor', 2, 'ACCEPT'],
      [orders.banned, 'processor', 2, 'ACCEPT'],
    ]);
    expect(report.differences[0]).toMatchObject({
      logged: { toState: 'ACCEPTED', processor: 'AcceptOrderProcessor' },
      candidate: { toState: 'ACCEPTED', processor: 'AcceptOrderProcessorV2' },
    });
  });

  it('another next state: kind `next-state`, with both states and processors', async () => {
    const report = await shadowReplay({ orders: await read(), candidate: feeOnceAcceptedCandidate() });
    expect(report.differences).toHaveLength(1);
    expect(differenceOf(report.differences, orders.banned)).toEqual([
      expect.objectContaining({
        kind: 'next-state',
        version: 3,
        event: 'CANCEL',
        fromState: 'ACCEPTED',
        logged: { toState: 'CANCELLED', processor: 'CancelProcessor' },
        candidate: { toState: 'CANCEL_PENDING_PAYMENT', processor: 'FeeOnceAcceptedCancelProcessor' },
      }),
    ]);
  });

  it('a refusal: no processor of the candidate takes the event in that state, with its code and message', async () => {
    const report = await shadowReplay({ orders: await read(), candidate: noCancelOnceAcceptedCandidate() });
    expect(report.differences).toEqual([
      expect.objectContaining({
        kind: 'refused',
        orderId: orders.banned,
        version: 3,
        event: 'CANCEL',
        fromState: 'ACCEPTED',
        logged: { toState: 'CANCELLED', processor: 'CancelProcessor' },
        candidate: { refused: expect.objectContaining({ code: 'NOT_FOUND_PROCESSOR', message: expect.stringContaining('in state ACCEPTED') }) },
      }),
    ]);
  });

  it('skips, as incomplete, an order whose log does not start at version 1', async () => {
    const [ride] = (await read()).filter((o) => o.orderId === orders.ride);
    const report = await shadowReplay({ orders: [{ ...ride, transitions: ride.transitions.slice(1) }], candidate: taxiCandidate });
    expect(report).toEqual({ orders: 0, events: 0, differences: [], incomplete: [{ orderId: orders.ride, reason: 'the log starts at version 2' }] });
  });

  describe('the CLI: cli.js replay', () => {
    const run = async (...args: string[]) => {
      const lines: string[] = [];
      const code = await main(['replay', ...args], (line) => lines.push(line));
      return { code, lines };
    };
    const ordersArgs = () => ids().flatMap((id) => ['--order', id]);

    it('exit 0 and a summary when the candidate decides as the log did', async () => {
      const { code, lines } = await run('--machine', OWN_MACHINE, '--since', '1h', ...ordersArgs());
      expect(lines).toEqual([`replayed 5 order(s), 23 event(s) against ${OWN_MACHINE}: 0 difference(s)`]);
      expect(code).toBe(0);
    });

    it('exit 2 and a table naming the order, version, event and kind of each difference', async () => {
      const { code, lines } = await run('--machine', BANNED_MACHINE, '--since', since.toISOString(), ...ordersArgs());
      expect(code).toBe(2);
      expect(lines[0].split(/\s{2,}/)).toEqual(['KIND', 'ORDER', 'VERSION', 'EVENT', 'FROM', 'LOGGED', 'CANDIDATE']);
      expect(lines[1].split(/\s{2,}/)).toEqual([
        'checker',
        orders.banned,
        'v2',
        'ACCEPT',
        'CREATED',
        'ACCEPTED by AcceptOrderProcessor',
        expect.stringMatching(/^refused CHECK_FAILED: .*may take no rides/),
      ]);
      expect(lines.at(-1)).toBe(`replayed 5 order(s), 22 event(s) against ${BANNED_MACHINE}: 1 difference(s)`);
    });

    it('--json prints the report', async () => {
      const { code, lines } = await run('--machine', BANNED_MACHINE, '--order', orders.banned, '--json');
      expect(code).toBe(2);
      const report = JSON.parse(lines.join('\n'));
      expect(report).toMatchObject({ orders: 1, events: 2, incomplete: [], differences: [{ kind: 'checker', orderId: orders.banned, version: 2, event: 'ACCEPT' }] });
    });

    it.each([
      [['--since', '1h'], /^error: --machine is required/],
      [['--machine', OWN_MACHINE], /^error: --since is required/],
      [['--machine', OWN_MACHINE, '--since', 'yesterday'], /^error: --since: "yesterday" is neither an ISO time nor a duration/],
      [['--machine', OWN_MACHINE, '--since', '1h', '--limit', '0'], /^error: --limit: "0" is not a whole number/],
      [['--machine', OWN_MACHINE, '--since', '1h', '--verbose'], /^error: unknown argument "--verbose"/],
      [['--machine', 'test/support/no-such-candidate.ts', '--since', '1h'], /^error: --machine: cannot load .*no-such-candidate/],
      [['--machine', 'test/support/taxi-client.ts', '--since', '1h'], /^error: --machine: .* exports no candidate/],
    ])('exit 1 for bad arguments %j, naming the argument', async (args, message) => {
      const { code, lines } = await run(...args);
      expect(code).toBe(1);
      expect(lines[0]).toMatch(message);
      expect(lines[1]).toMatch(/^usage: cli\.js replay --machine/);
    });
  });
});
