import { jest } from '@jest/globals';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTaxiMachine } from '../../apps/order-service/src/taxi/taxi.machine.js';
import { deleteTopology, uniquePrefix } from '../support/broker.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { checkHistory } from './support/checker.js';
import { runLoad, startCluster } from './support/processes.js';

// Real processes, restarts and settling waits: each test's own waits are bounded; this bounds their sum.
jest.setTimeout(300_000);

const ROUNDS = Number(process.env.FAULT_STORM_ROUNDS ?? 200);
const WIDTH = 50;

/** 50 conflicting ACCEPTs on one fresh order, over two API processes, ROUNDS times: exactly one wins each round. */
describe.each([
  ['with the Redis lock', 'true'],
  ['with the Redis lock switched off', 'false'],
])('a conflict storm across two API instances, %s', (_name, lock) => {
  const prefix = uniquePrefix('storm');
  let observer: TestApp;

  beforeAll(async () => {
    // Its own prefix: instances sharing one must declare the same topology (retry delays included).
    observer = await startTestApp({ relayEnabled: false, workerEnabled: false, amqpPrefix: `${prefix}.observer` });
  });
  afterAll(async () => {
    await observer.close();
    await deleteTopology(prefix);
    await deleteTopology(`${prefix}.observer`);
  });

  it(`${WIDTH} concurrent ACCEPTs on one order, ${ROUNDS} times: one applies, the rest are refused, nothing twice`, async () => {
    const cluster = await startCluster(prefix, { apis: 2, env: { LOCK_ENABLED: lock, ACCEPT_TIMEOUT_MS: '600000' } });
    try {
      await stormAndCheck(cluster.urls);
    } finally {
      await cluster.stop();
    }
  });

  async function stormAndCheck(urls: string[]) {
    const { history } = await runLoad({ mode: 'storm', urls, history: join(tmpdir(), `${prefix}.storm.jsonl`), rounds: ROUNDS, width: WIDTH }).done;
    const accepts = history.filter((e) => e.op === 'event' && e.type !== 'invoke');
    const byOrder = new Map<string, typeof accepts>();
    for (const e of accepts) (byOrder.get(e.orderId!) ?? byOrder.set(e.orderId!, []).get(e.orderId!)!).push(e);
    expect(byOrder.size).toBe(ROUNDS);
    const refusals = new Map<string, number>();
    for (const [, entries] of byOrder) {
      expect(entries.filter((e) => e.type === 'ok')).toHaveLength(1);
      expect(entries.filter((e) => e.type === 'unknown')).toHaveLength(0);
      for (const e of entries.filter((x) => x.type === 'fail')) refusals.set(`${e.status} ${e.code}`, (refusals.get(`${e.status} ${e.code}`) ?? 0) + 1);
    }
    // Refused means 409: the order had moved on (ACCEPTED takes no ACCEPT, or it moved while the loser
    // checked), was busy (lock), or the loser lost at the fence (version).
    for (const key of refusals.keys()) expect(key).toMatch(/^409 (NOT_FOUND_PROCESSOR|ORDER_STATE_NOT_MATCH|ORDER_BUSY|VERSION_CONFLICT)$/);
    const result = await checkHistory({ dataSource: observer.dataSource, history, machine: createTaxiMachine(), settleMs: 30_000 });
    console.info(`storm ${lock === 'true' ? 'with' : 'without'} lock: ${result.operations.invoked} requests, ${result.transitions} transitions, refusals ${JSON.stringify(Object.fromEntries(refusals))}`);
    expect(result.violations).toEqual([]);
    expect(result.transitions).toBe(ROUNDS * 2);
  }
});
