// npm run bench [-- --quick]: the engine against the floor the database sets, side by side, in one run.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { openBaseline } from './baseline.mjs';
import { DATABASE_URL, POOL_SIZE, fsm, openDataSource, openRedis, startEngine } from './setup.mjs';
import { drive } from './stats.mjs';

const quick = process.argv.includes('--quick');
const DURATION_MS = quick ? 3_000 : 10_000;
const KEYS_PER_CLIENT = 4;
const RSS_EVENTS = quick ? 5_000 : 100_000;
const run = `bench-${Date.now().toString(36)}`;

const dataSource = await openDataSource();
const redis = await openRedis();
const { app, engine } = await startEngine(dataSource, redis);
const baseline = await openBaseline(DATABASE_URL, POOL_SIZE, redis);
const results = { date: new Date().toISOString(), quick, machine: `${os.cpus().length} cpu, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`, poolSize: POOL_SIZE, scenarios: {} };

async function engineOrders(n) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await engine.createOrder({ requestId: `${run}-c-${randomUUID()}`.slice(0, 64), bizCode: 'BENCH', sceneId: 'S', orderId: `${run}-e-${randomUUID().slice(0, 18)}` })).orderId);
  return ids;
}

const flip = (orderId, i) => engine.sendEvent({ eventType: 'FLIP', orderId, requestId: `${orderId.slice(-18)}-${i}-${randomUUID().slice(0, 8)}` });

// Scenario 1: in-process sendEvent, distinct orders.
console.log(`scenario 1: sendEvent in process vs the floor, ${DURATION_MS / 1000}s each`);
const s1 = [];
for (const concurrency of [1, 16, 64]) {
  const eOrders = await engineOrders(concurrency * KEYS_PER_CLIENT);
  const bOrders = Array.from({ length: concurrency * KEYS_PER_CLIENT }, () => `${run}-b-${randomUUID().slice(0, 18)}`);
  await baseline.seed(bOrders);
  const floor = await drive({ concurrency, durationMs: DURATION_MS, keysPerClient: KEYS_PER_CLIENT, step: (c, k, i) => baseline.transition(bOrders[c * KEYS_PER_CLIENT + k], `${run}-b-${randomUUID()}`.slice(0, 64)) });
  const ours = await drive({ concurrency, durationMs: DURATION_MS, keysPerClient: KEYS_PER_CLIENT, step: (c, k, i) => flip(eOrders[c * KEYS_PER_CLIENT + k], i) });
  const row = { concurrency, engine: ours, baseline: floor, throughputRatio: ours.perSecond / floor.perSecond, p99Ratio: ours.p99 / floor.p99 };
  s1.push(row);
  console.log(`  c=${String(concurrency).padStart(2)}  engine ${ours.perSecond.toFixed(0).padStart(5)}/s p50 ${ours.p50.toFixed(1)} p99 ${ours.p99.toFixed(1)} ms | floor ${floor.perSecond.toFixed(0).padStart(5)}/s p50 ${floor.p50.toFixed(1)} p99 ${floor.p99.toFixed(1)} ms | ratio ${row.throughputRatio.toFixed(2)}, p99 x${row.p99Ratio.toFixed(2)}${ours.errors + floor.errors ? `  errors ${ours.errors}/${floor.errors}` : ''}`);
}
results.scenarios.inProcess = s1;

// Scenario 6: a registry of 1,000 processors: start-up and resolve().
{
  class P extends fsm.AbstractStateProcessor { getNextState() { return 'X'; } action() { return fsm.ServiceResult.ok(); } }
  const t0 = performance.now();
  const registry = new fsm.ProcessorRegistry();
  for (let i = 0; i < 1000; i++) {
    registry.registerProcessor(`P${i}`, { states: [`S${i % 100}`], event: `E${Math.floor(i / 100)}`, bizCodes: [`B${i % 7}`], sceneIds: undefined }, new P());
  }
  registry.seal();
  const startupMs = performance.now() - t0;
  const keys = Array.from({ length: 1000 }, (_, i) => [`S${i % 100}`, `E${i % 10}`, `B${i % 7}`, `X${i % 5}`]);
  for (const k of keys) registry.resolve(...k);
  const calls = 2_000_000;
  const t1 = performance.now();
  let found = 0;
  for (let i = 0; i < calls; i++) found += registry.resolve(...keys[i % 1000]).length;
  const perCallUs = ((performance.now() - t1) * 1000) / calls;
  results.scenarios.registry = { processors: 1000, startupMs, resolvePerCallUs: perCallUs, found };
  console.log(`scenario 6: 1,000 processors: registry start-up ${startupMs.toFixed(1)} ms, resolve() ${perCallUs.toFixed(3)} µs a call`);
}

// Scenario 7: memory over many events.
{
  const orders = await engineOrders(16);
  global.gc?.();
  const before = process.memoryUsage().rss;
  let sent = 0;
  await Promise.all(orders.map(async (orderId) => {
    while (sent < RSS_EVENTS) {
      sent++;
      await flip(orderId, sent);
    }
  }));
  global.gc?.();
  const after = process.memoryUsage().rss;
  results.scenarios.memory = { events: RSS_EVENTS, rssBeforeMb: before / 2 ** 20, rssAfterMb: after / 2 ** 20, growthMb: (after - before) / 2 ** 20 };
  console.log(`scenario 7: RSS ${(before / 2 ** 20).toFixed(0)} MB -> ${(after / 2 ** 20).toFixed(0)} MB over ${RSS_EVENTS} events (growth ${((after - before) / 2 ** 20).toFixed(1)} MB)`);
}

// The bench's rows go: they would only grow the tables the service reads.
for (const table of ['fsm_outbox', 'fsm_transition', 'fsm_order']) {
  await dataSource.query(`DELETE FROM ${table} WHERE ${table === 'fsm_order' ? 'id' : 'order_id'} LIKE ?`, [`${run}-%`]);
}
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/${results.date.replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify(results, null, 2));
console.log(`written ${file}`);
await baseline.close();
await app.close();
redis.disconnect();
await dataSource.destroy();
