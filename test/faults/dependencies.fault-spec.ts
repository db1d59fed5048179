import { jest } from '@jest/globals';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTaxiMachine } from '../../apps/order-service/src/taxi/taxi.machine.js';
import { auditQueue, deleteTopology, restartRabbitMq, uniquePrefix, waitFor } from '../support/broker.js';
import { DATABASE_NAME } from '../support/database.js';
import { restartDatabase, restartRedis } from '../support/services.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { checkHistory, readHistory, type HistoryEntry } from './support/checker.js';
import { runLoad, startCluster, type Cluster } from './support/processes.js';

// Real processes, restarts and settling waits: each test's own waits are bounded; this bounds their sum.
jest.setTimeout(300_000);

/** A cap on the load: it normally stops once rides have gone on for a while after the fault (below). */
const LOAD_CAP_MS = 120_000;
/** After the fault, the load goes on at least this long, and until this many more requests were answered 2xx. */
const AFTER_FAULT_MS = 5_000;
const OK_AFTER_FAULT = 60;
/** The fault starts once this many requests have been answered 2xx: rides are under way at every stage (under a second into the load on 2 cores). */
const FAULT_AFTER_OK = 100;
/** How long the dependency stays down: the length of the outage, part of the fault itself. */
const DOWN_MS = 3_000;

/**
 * Rides through two API processes and two worker processes, while one dependency is stopped for
 * real and started again: requests fail cleanly while it is down, the processes recover by
 * themselves, and the history and the database agree afterwards.
 */
describe.each([
  [DATABASE_NAME, (whileDown: () => Promise<void>) => restartDatabase(whileDown)],
  ['Redis (every lock vanishes with it)', (whileDown: () => Promise<void>) => restartRedis(whileDown)],
  ['RabbitMQ', (whileDown: () => Promise<void>) => restartRabbitMq(whileDown)],
])('%s restarted under load', (name, restart) => {
  const prefix = uniquePrefix('deps');
  let observer: TestApp;
  let cluster: Cluster;

  beforeAll(async () => {
    // Its own prefix: instances sharing one must declare the same topology (retry delays included).
    observer = await startTestApp({ relayEnabled: false, workerEnabled: false, amqpPrefix: `${prefix}.observer` });
    cluster = await startCluster(prefix, { apis: 2, workers: 2 });
  });
  afterAll(async () => {
    await cluster?.stop();
    await observer.close();
    await deleteTopology(prefix);
    await deleteTopology(`${prefix}.observer`);
  });

  it('loses nothing acknowledged, applies nothing twice, and settles every order', async () => {
    const audit = await auditQueue(prefix);
    const history = join(tmpdir(), `${prefix}.jsonl`);
    // A request counts as hung after 30 s: under a restart on this shared machine an answer may take seconds, never that.
    const load = runLoad({ mode: 'rides', urls: cluster.urls, history, durationMs: LOAD_CAP_MS, clients: 6, graceMs: 60_000, requestTimeoutMs: 30_000 });
    await waitFor(
      `${FAULT_AFTER_OK} requests answered`,
      async () => readHistory(history).filter((e) => e.type === 'ok').length >= FAULT_AFTER_OK,
      30_000,
      50,
    );
    const faultStarted = Date.now();
    await restart(() => new Promise((resolve) => setTimeout(resolve, DOWN_MS)));
    const faultEnded = Date.now();
    // The processes recover by themselves: rides go on after the fault, however long the restart took.
    // (A restart of RabbitMQ alone can outlast a load of fixed length.)
    try {
      await waitFor(
        `${OK_AFTER_FAULT} requests answered 2xx after the fault`,
        async () => Date.now() - faultEnded >= AFTER_FAULT_MS && readHistory(history).filter((e) => e.type === 'ok' && e.t > faultEnded).length >= OK_AFTER_FAULT,
        60_000,
        200,
      );
    } finally {
      load.stop();
    }
    const { history: entries } = await load.done;

    const received = async () => (await audit.drain()).map((m) => ({ messageId: m.messageId, orderId: m.orderId, version: m.version }));
    const result = await checkHistory({ dataSource: observer.dataSource, history: entries, machine: createTaxiMachine(), received, settleMs: 60_000 });
    const during = entries.filter((e: HistoryEntry) => e.type !== 'invoke' && e.t >= faultStarted && e.t <= faultEnded);
    const timeouts = entries.filter((e) => e.type === 'unknown' && e.status === 0 && /Timeout/i.test(JSON.stringify(e)));
    console.info(
      `${name}: ${result.operations.invoked} requests (${result.operations.ok} ok, ${result.operations.fail} refused, ${result.operations.unknown} unknown), ` +
        `${during.length} ended during the fault (${during.filter((e) => e.type !== 'ok').length} not ok), ${result.orders} orders, ${result.transitions} transitions, ` +
        `${result.messages.received} messages (${result.messages.duplicates} duplicates), violations ${result.violations.length}`,
    );
    if (result.violations.length > 0) {
      // What the processes said last: the first thing to read when the checker finds something.
      for (const [role, list] of [['api', cluster.apis], ['worker', cluster.workers]] as const) {
        list.forEach((p, i) => console.info(`${role} ${i} (${p.child.exitCode === null ? 'running' : `exited ${p.child.exitCode}`}):\n${p.output().split('\n').slice(-25).join('\n')}`));
      }
    }
    expect(result.violations).toEqual([]);
    // The processes recovered by themselves: none of them ended, and rides went on after the fault.
    const processes = [...cluster.apis, ...cluster.workers];
    expect(processes.map((p) => p.child.exitCode)).toEqual(processes.map(() => null));
    expect(entries.filter((e) => e.type === 'ok' && e.t > faultEnded).length).toBeGreaterThanOrEqual(OK_AFTER_FAULT);
    // Nothing hung: the services answered (a 503 while the dependency was down), no request timed out.
    expect(timeouts).toEqual([]);
    expect(result.operations.ok).toBeGreaterThan(50);
    await audit.remove();
  });
});
