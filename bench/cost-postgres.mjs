// node bench/cost-postgres.mjs [c] [slice ms] [rounds] [--hot] (after npm run build): what one event costs on
// PostgreSQL, the engine with PostgresOrderStore against the floors, in rotating slices at concurrency c
// (16): the CPU of this Node process, of the PostgreSQL processes serving it (its database's backends,
// the WAL writer, checkpointer and background writer) and of Redis, read from /proc; the WAL written
// (pg_current_wal_lsn: the whole cluster's); and the wall time inside the store's calls and pg's queries.
//
// One more side is an experiment, not a floor and not the shipped engine: the same engine on a
// PostgresOrderStore with `prepareStatements: false`, which sends its reads and its one-statement
// transitions unnamed, so that PostgreSQL parses and plans each of them every time (the store's
// default prepares each text once per connection).
// With --hot, every client of a side sends to the same one order (scenario 3's one hot order): the
// engine and the floor wait for it with the waking lock, and the table adds the time an event holds
// the order (its store calls, or the floor's transaction) against the time between two events.
// Linux only. Other work on the machine shows in the wall times and in Redis more than in the backends' CPU.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openPostgresBaseline } from './baseline-postgres.mjs';
import { POOL_SIZE, POSTGRES_URL, autovacuumOn, fsm, openPostgres, openRedis, startEngine } from './setup.mjs';
import { TICK_MS, drive, summarize, ticks } from './stats.mjs';

const HOT = process.argv.includes('--hot');
const [C = 16, SLICE_MS = 3_000, ROUNDS = 4] = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number);
// Each client has 4 orders of its own; with --hot, all clients share one.
const KEYS = 4;
const slot = (c, k) => (HOT ? 0 : c * KEYS + k);

// Wall time inside pg's query() (send to answer), and inside the store's calls.
const wall = new Map();
const add = (k, ms) => {
  const t = wall.get(k) ?? { n: 0, ms: 0 };
  t.n++;
  t.ms += ms;
  wall.set(k, t);
};
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function timedQuery(...args) {
  const text = typeof args[0] === 'string' ? args[0] : (args[0]?.text ?? '?');
  const kind = text.trim().split(/\s+/).slice(0, 3).join(' ').toUpperCase();
  const t0 = performance.now();
  const result = query.apply(this, args);
  return typeof result?.then === 'function' ? result.finally(() => add(`  pg ${kind}`, performance.now() - t0)) : result;
};
const timed = (store, name) => {
  const f = store[name].bind(store);
  store[name] = async (...a) => {
    const t0 = performance.now();
    try {
      return await f(...a);
    } finally {
      add(`store.${name}`, performance.now() - t0);
    }
  };
};

const redis = await openRedis();
const { dataSource, store } = await openPostgres();
const { PostgresOrderStore } = await import('../dist/libs/order-fsm/src/adapters/postgres/index.js');

// The experiment: the same store sending every statement unnamed, parsed and planned each time.
const unprepared = new PostgresOrderStore(dataSource, { prepareStatements: false });

const engines = {};
for (const [name, s] of [['engine', store], ['unprepared', unprepared]]) {
  timed(s, 'loadForEvent');
  timed(s, 'commit');
  engines[name] = await startEngine(dataSource, redis, { store: s });
}
const baseline = await openPostgresBaseline(POSTGRES_URL, POOL_SIZE, redis);
const run = `cost-${Date.now().toString(36)}`;
const orders = {};
for (const name of Object.keys(engines)) {
  orders[name] = [];
  for (let i = 0; i < (HOT ? 1 : C * KEYS); i++) {
    orders[name].push((await engines[name].engine.createOrder({ requestId: `${run}-c-${name}-${i}`, bizCode: 'BENCH', sceneId: 'S', orderId: `${run}-${name}-${i}` })).orderId);
  }
}
orders.floor = Array.from({ length: HOT ? 1 : C * KEYS }, (_, i) => `${run}-b-${i}`);
orders.engineRows = Array.from({ length: HOT ? 1 : C * KEYS }, (_, i) => `${run}-f-${i}`);
await baseline.seed([...orders.floor, ...orders.engineRows]);
const redisPid = async () => Number(/process_id:(\d+)/.exec(await redis.info('server'))[1]);

const pgPids = async () =>
  (
    await dataSource.query(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type IN ('walwriter', 'checkpointer', 'background writer')",
    )
  ).map((r) => r.pid);
const lsn = async () => (await dataSource.query('SELECT pg_current_wal_lsn() AS lsn'))[0].lsn;
const walBytes = async (from, to) => Number((await dataSource.query('SELECT pg_wal_lsn_diff($1, $2) AS d', [to, from]))[0].d);

const requestId = () => `${run}-${randomUUID()}`.slice(0, 64);
const flip = (name) => (c, k) => engines[name].engine.sendEvent({ eventType: 'FLIP', orderId: orders[name][slot(c, k)], requestId: requestId() });
const sides = HOT
  ? {
      engine: flip('engine'),
      // The floor with the engine's lock mechanics, waiting for the order as scenario 3's does.
      'floor (waking)': (c, k) => baseline.transition(orders.floor[slot(c, k)], requestId(), 10_000),
    }
  : {
      engine: flip('engine'),
      'engine, statements unprepared (experiment)': flip('unprepared'),
      floor: (c, k) => baseline.transition(orders.floor[slot(c, k)], requestId()),
      "floor writing the engine's rows": (c, k) => baseline.transitionWithEngineRows(orders.engineRows[slot(c, k)], requestId()),
    };
const totals = Object.fromEntries(Object.keys(sides).map((name) => [name, { runs: [], node: 0, pg: 0, redis: 0, wal: 0, wall: new Map() }]));
// A slice of each first, not counted: the JIT, the pools and the backends warm up.
for (const step of Object.values(sides)) await drive({ concurrency: C, durationMs: 1_000, keysPerClient: KEYS, step });
// On a PostgreSQL without autovacuum, statistics analyzed at the size the warm-up left, as autovacuum
// would have them (analyzed on empty tables, the planner scans fsm_transition for every replay lookup).
if (!(await autovacuumOn(dataSource))) await dataSource.query('ANALYZE fsm_outbox, fsm_order, fsm_transition');
const names = Object.keys(sides);
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length];
    const pids = await pgPids();
    const redisAt = await redisPid();
    const [pg0, redis0, node0, lsn0] = [pids.map(ticks), ticks(redisAt), process.cpuUsage(), await lsn()];
    wall.clear();
    const slice = await drive({ concurrency: C, durationMs: SLICE_MS, keysPerClient: KEYS, step: sides[name] });
    const node = process.cpuUsage(node0);
    const t = totals[name];
    t.runs.push(slice);
    t.node += (node.user + node.system) / 1000;
    t.pg += pids.reduce((sum, pid, j) => sum + Math.max(0, ticks(pid) - pg0[j]), 0) * TICK_MS;
    // Redis restarted under the slice (this machine runs others' fault tests): its CPU is unknown.
    if ((await redisPid().catch(() => 0)) === redisAt) t.redis += (ticks(redisAt) - redis0) * TICK_MS;
    else t.redisUnknown = true;
    t.wal += await walBytes(lsn0, await lsn());
    for (const [k, v] of wall) {
      const sum = t.wall.get(k) ?? { n: 0, ms: 0 };
      sum.n += v.n;
      sum.ms += v.ms;
      t.wall.set(k, sum);
    }
  }
}

const floor = summarize((totals.floor ?? totals['floor (waking)']).runs);
console.log(`PostgreSQL, c=${C}${HOT ? ', one hot order' : ''}, ${ROUNDS} rotating slices of ${SLICE_MS / 1000} s per side; CPU per event in µs`);
console.log('| side | events/s | of the floor | p99 ms | Node | PostgreSQL | Redis | sum | WAL bytes |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [name, t] of Object.entries(totals)) {
  const s = summarize(t.runs);
  const per = (ms) => Math.round((ms * 1000) / s.events);
  console.log(
    `| ${name} | ${s.perSecond.toFixed(0)} | ${(s.perSecond / floor.perSecond).toFixed(2)} | ${s.p99.toFixed(1)} | ${per(t.node)} | ${per(t.pg)} | ${t.redisUnknown ? '?' : per(t.redis)} | ${per(t.node + t.pg + t.redis)}${t.redisUnknown ? '+?' : ''} | ${Math.round(t.wal / s.events)} |${s.errors ? ` ${s.errors} errors` : ''}`,
  );
}
for (const [name, t] of Object.entries(totals)) {
  const s = summarize(t.runs);
  console.log(`\n${name}: wall time inside the store's calls and pg's queries (concurrent calls overlap)`);
  for (const [k, v] of [...t.wall].sort(([a], [b]) => a.localeCompare(b))) {
    if (!k.includes('WAL_LSN')) console.log(`  ${k.padEnd(34)} ${(v.n / s.events).toFixed(2)} an event, ${(v.ms / v.n).toFixed(3)} ms each`);
  }
}
for (const t of ['fsm_outbox', 'fsm_transition', 'fsm_order']) await dataSource.query(`DELETE FROM ${t} WHERE ${t === 'fsm_order' ? 'id' : 'order_id'} LIKE $1`, [`${run}-%`]);
await baseline.close();
for (const { app } of Object.values(engines)) await app.close();
redis.disconnect();
await dataSource.destroy();
