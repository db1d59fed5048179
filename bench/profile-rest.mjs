// node bench/profile-rest.mjs (after npm run build): the REST scenario's service under autocannon at
// c=16 for a few seconds, with a CPU profile of the service process; prints where its CPU goes.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { AMQP_URL, BENCH_API_TOKENS, BENCH_TOKEN, DATABASE_URL, POOL_SIZE, REDIS_URL, openDataSource, openRedis, startEngine } from './setup.mjs';

const dir = 'bench/results/profile-rest';
mkdirSync(dir, { recursive: true });
const dataSource = await openDataSource();
const redis = await openRedis();
const { app, engine } = await startEngine(dataSource, redis);
const run = `profr-${Date.now().toString(36)}`;
const orders = [];
for (let i = 0; i < 16; i++) {
  const orderId = `${run}-${randomUUID().slice(0, 18)}`;
  await engine.createOrder({ requestId: `${run}-c-${randomUUID()}`.slice(0, 64), bizCode: 'BENCH', sceneId: 'S', orderId });
  orders.push(orderId);
}
const server = fork('bench/rest-server.mjs', [], {
  execArgv: process.env.NO_PROFILE ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  env: { ...process.env, DATABASE_URL, REDIS_URL, AMQP_URL, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', DATABASE_POOL_SIZE: String(POOL_SIZE), RELAY_ENABLED: 'false', WORKER_ENABLED: 'false', TIMER_POLL_MS: '60000', SWEEPER_INTERVAL_MS: '600000', RATE_LIMIT_MAX: '1000000000', API_TOKENS: BENCH_API_TOKENS },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const [{ port }] = await once(server, 'message');
const before = new Set(readdirSync(dir));
const load = fork('bench/rest-load.mjs', [JSON.stringify({ url: `http://127.0.0.1:${port}`, connections: 16, durationS: Number(process.env.DURATION_S ?? 6), orders, token: BENCH_TOKEN })], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
let out = '';
load.stdout.on('data', (chunk) => (out += chunk));
await once(load, 'exit');
console.log(`REST: ${JSON.parse(out).perSecond.toFixed(0)}/s`);
server.send('stop');
await once(server, 'exit');
const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.cpuprofile'));
// Its rows go, unpublished outbox rows above all: every relay on this database would publish them.
for (const [table, column] of [['fsm_outbox', 'order_id'], ['fsm_timer', 'order_id'], ['fsm_transition', 'order_id'], ['fsm_order', 'id']]) {
  await dataSource.query(`DELETE FROM ${table} WHERE ${column} LIKE ?`, [`${run}-%`]);
}
await app.close();
await dataSource.destroy();
redis.disconnect();
if (!file) process.exit(0);
const report = fork('bench/profile.mjs', [`${dir}/${file}`]);
await once(report, 'exit');
