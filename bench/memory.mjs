// Scenario 7, forked by run.mjs: RSS over N events (16 clients on their own orders), after a warm-up,
// then over N more, with a full GC at each point. Answers JSON on stdout.
//
// The leak measure is the second N. Over the first, RSS also takes in the pages of V8's young
// generation as V8 grows it to the size it chose for this machine (the new space: 128 MB on Node 24
// with 24 GiB, touched page by page as the scavenger cycles through it), which stays once touched:
// a plateau, not a leak (see docs/BENCHMARKS.md, "Memory"). A leak grows the second N as much as the
// first.
import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import { openDataSource, openRedis, startEngine } from './setup.mjs';

const events = Number(process.argv[2] ?? 100_000);
const warmup = 5_000;
const dataSource = await openDataSource();
const redis = await openRedis();
const { app, engine } = await startEngine(dataSource, redis);
const run = `bench-mem-${Date.now().toString(36)}`;
const orders = [];
for (let i = 0; i < 16; i++) orders.push((await engine.createOrder({ requestId: `${run}-c-${i}`, bizCode: 'BENCH', sceneId: 'S', orderId: `${run}-${i}` })).orderId);

async function send(n) {
  let sent = 0;
  await Promise.all(orders.map(async (orderId) => {
    while (sent < n) {
      sent++;
      await engine.sendEvent({ eventType: 'FLIP', orderId, requestId: `${run}-${randomUUID()}` });
    }
  }));
}

const mb = (bytes) => bytes / 2 ** 20;
/** RSS and heap in MB after a full GC, and the size of V8's young generation (its new space). */
const measure = () => {
  global.gc();
  const { rss, heapUsed } = process.memoryUsage();
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return { rss: mb(rss), heap: mb(heapUsed), newSpace: mb(newSpace?.space_size ?? 0) };
};
await send(warmup);
const start = measure();
await send(events);
const half = measure();
await send(events);
const end = measure();
for (const table of ['fsm_outbox', 'fsm_transition', 'fsm_order']) {
  for (;;) {
    const { affectedRows } = await dataSource.query(`DELETE FROM ${table} WHERE ${table === 'fsm_order' ? 'id' : 'order_id'} LIKE ? LIMIT 20000`, [`${run}-%`]);
    if (affectedRows < 20_000) break;
  }
}
await app.close();
redis.disconnect();
await dataSource.destroy();
process.stdout.write(JSON.stringify({
  events, warmup,
  rssStartMb: start.rss, rssHalfMb: half.rss, rssEndMb: end.rss,
  // Over the first N events: the young generation's pages settling in, and whatever a leak adds.
  firstGrowthMb: half.rss - start.rss,
  // Over the second N events: the leak measure.
  growthMb: end.rss - half.rss,
  heapStartMb: start.heap, heapHalfMb: half.heap, heapEndMb: end.heap,
  youngGenerationMb: end.newSpace,
}));
