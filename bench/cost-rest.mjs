// node bench/cost-rest.mjs [slice s] [rounds] (after npm run build): what one REST request costs, the
// taxi service (bench/rest-server.mjs, every guarantee on) against the floor behind a bare node:http
// server (bench/rest-floor-server.mjs), driven by the same autocannon at c=16 in rotating slices.
// It reads from /proc the CPU of each server process, of the load generator, of the database server
// and of Redis, and prints the CPU one request costs in each. On a machine shared with other work the
// throughput moves from run to run; the CPU per request moves much less, which makes this the tool for
// telling whether a change to the REST path made it cheaper. Linux only.
// `--db=postgres`: on PostgreSQL (POSTGRES_URL), counting every postgres process's CPU.
import { fork, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { AMQP_URL, BENCH_API_TOKENS, BENCH_TOKEN, DATABASE_URL as MARIADB_URL, POOL_SIZE, POSTGRES_URL, REDIS_URL, autovacuumOn, openDataSource, openPostgres, openRedis, startEngine } from './setup.mjs';
import { openBaseline } from './baseline.mjs';
import { openPostgresBaseline } from './baseline-postgres.mjs';
import { TICK_MS, ticks } from './stats.mjs';

const postgres = process.argv.includes('--db=postgres');
const [SLICE_S = 4, ROUNDS = 4] = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number);
const C = 16;
const DATABASE_URL = postgres ? POSTGRES_URL : MARIADB_URL;

const pidsOf = (name) => {
  try {
    return execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return [];
  }
};
// The database server's processes: mariadbd (one process), or this database's PostgreSQL backends
// (the service's and the floor's pools) and the WAL writer, checkpointer and background writer.
const databasePids = async () =>
  postgres
    ? (
        await dataSource.query(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type IN ('walwriter', 'checkpointer', 'background writer')",
        )
      ).map((row) => row.pid)
    : pidsOf('mariadbd');

const redis = await openRedis();
const { dataSource, store } = postgres ? await openPostgres() : { dataSource: await openDataSource() };
const { app, engine } = await startEngine(dataSource, redis, store ? { store } : {});
const run = `costr-${Date.now().toString(36)}`;
const serviceOrders = [];
for (let i = 0; i < C; i++) {
  const orderId = `${run}-${randomUUID().slice(0, 18)}`;
  await engine.createOrder({ requestId: `${run}-c-${randomUUID()}`.slice(0, 64), bizCode: 'BENCH', sceneId: 'S', orderId });
  serviceOrders.push(orderId);
}
const baseline = await (postgres ? openPostgresBaseline : openBaseline)(DATABASE_URL, POOL_SIZE, redis);
const floorOrders = Array.from({ length: C }, (_, i) => `${run}-h-${i}`);
await baseline.seed(floorOrders);

// --profile: each server runs under the CPU profiler (which costs CPU of its own); the profiles are written
// to bench/results/cost-rest/ when the servers stop; read them with node bench/profile.mjs FILE.
const profileDir = 'bench/results/cost-rest';
const serve = async (script, env) => {
  const execArgv = process.argv.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${script.replace(/.*\//, '')}.${run}.cpuprofile`] : [];
  const child = fork(script, [], { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = await once(child, 'message');
  return { child, port };
};
const service = await serve('bench/rest-server.mjs', {
  DATABASE_URL, REDIS_URL, AMQP_URL, LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: String(POOL_SIZE), RELAY_ENABLED: 'false', WORKER_ENABLED: 'false', TIMER_POLL_MS: '60000', SWEEPER_INTERVAL_MS: '600000',
  RATE_LIMIT_MAX: '1000000000', API_TOKENS: BENCH_API_TOKENS,
});
const httpFloor = await serve('bench/rest-floor-server.mjs', { DATABASE_URL });
const sides = { service: { ...service, orders: serviceOrders }, 'node:http floor': { ...httpFloor, orders: floorOrders } };
const totals = Object.fromEntries(Object.keys(sides).map((name) => [name, { requests: 0, seconds: 0, non2xx: 0, server: 0, load: 0, database: 0, redis: 0 }]));
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))[1]);

const slice = async (name, durationS, count) => {
  const { child, port, orders } = sides[name];
  const load = fork('bench/rest-load.mjs', [JSON.stringify({ url: `http://127.0.0.1:${port}`, connections: C, durationS, orders, token: BENCH_TOKEN })], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const db = await databasePids();
  const [server0, load0, db0, redis0] = [ticks(child.pid), ticks(load.pid), db.map(ticks), ticks(redisPid)];
  let out = '';
  load.stdout.on('data', (chunk) => (out += chunk));
  // The load generator's CPU is read just before it exits (its summary is written then).
  let loadTicks = 0;
  const poll = setInterval(() => (loadTicks = Math.max(loadTicks, ticks(load.pid) - load0)), 50);
  await once(load.stdout, 'end');
  loadTicks = Math.max(loadTicks, ticks(load.pid) - load0);
  clearInterval(poll);
  await once(load, 'exit').catch(() => {});
  if (!count) return;
  const result = JSON.parse(out);
  const t = totals[name];
  t.requests += result.requests;
  t.seconds += result.seconds;
  t.non2xx += result.non2xx;
  t.server += (ticks(child.pid) - server0) * TICK_MS;
  t.load += loadTicks * TICK_MS;
  t.database += db.reduce((sum, pid, i) => sum + Math.max(0, ticks(pid) - db0[i]), 0) * TICK_MS;
  t.redis += (ticks(redisPid) - redis0) * TICK_MS;
};

const names = Object.keys(sides);
for (const name of names) await slice(name, 2, false); // warm-up, not counted
// On a PostgreSQL without autovacuum, the statistics are those of the start (often empty tables): a
// planner that believes fsm_transition empty scans it for every replay lookup. Analyzed now, at the
// size the warm-up left, as autovacuum would have.
if (postgres && !(await autovacuumOn(dataSource))) await dataSource.query('ANALYZE fsm_outbox, fsm_order, fsm_transition');
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < names.length; i++) await slice(names[(i + r) % names.length], SLICE_S, true);
}
for (const { child } of Object.values(sides)) {
  child.send('stop');
  await once(child, 'exit');
}

console.log(`REST on ${postgres ? 'PostgreSQL' : 'MariaDB'}, c=${C}, ${ROUNDS} rotating slices of ${SLICE_S} s per side; CPU per request in µs`);
console.log('| side | requests/s | non-2xx | server | load generator | database | Redis | sum |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [name, t] of Object.entries(totals)) {
  const per = (ms) => Math.round((ms * 1000) / t.requests);
  console.log(`| ${name} | ${(t.requests / t.seconds).toFixed(0)} | ${t.non2xx} | ${per(t.server)} | ${per(t.load)} | ${per(t.database)} | ${per(t.redis)} | ${per(t.server + t.load + t.database + t.redis)} |`);
}

// Its rows go, in slices on MariaDB (one DELETE of every row would outgrow InnoDB's lock table).
for (const [table, column] of [['fsm_outbox', 'order_id'], ['fsm_timer', 'order_id'], ['fsm_transition', 'order_id'], ['fsm_order', 'id']]) {
  if (postgres) await dataSource.query(`DELETE FROM ${table} WHERE ${column} LIKE $1`, [`${run}-%`]);
  else while ((await dataSource.query(`DELETE FROM ${table} WHERE ${column} LIKE ? LIMIT 10000`, [`${run}-%`])).affectedRows > 0);
}
await baseline.close();
await app.close();
await dataSource.destroy();
redis.disconnect();
