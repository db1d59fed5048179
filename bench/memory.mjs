// Scenario 7, forked by run.mjs: RSS before and after N events (16 clients on their own orders), after
// a warm-up, with a full GC at both ends. Answers JSON on stdout.
import { randomUUID } from 'node:crypto';
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
await send(warmup);
global.gc();
const before = process.memoryUsage();
await send(events);
global.gc();
const after = process.memoryUsage();
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
  rssBeforeMb: mb(before.rss), rssAfterMb: mb(after.rss), growthMb: mb(after.rss - before.rss),
  heapBeforeMb: mb(before.heapUsed), heapAfterMb: mb(after.heapUsed),
}));
