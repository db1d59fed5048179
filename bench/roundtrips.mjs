// node bench/roundtrips.mjs (after npm run build): the statements and Redis commands one event costs,
// engine against the floor, counted by the servers themselves (SHOW GLOBAL STATUS, INFO commandstats).
import mysql from 'mysql2';
import { openBaseline } from './baseline.mjs';
import { DATABASE_URL, POOL_SIZE, openDataSource, openRedis, startEngine } from './setup.mjs';

const EVENTS = 200;

// Round trips as the client sees them: every query mysql2 sends (a multi-statement batch is one).
let sent = 0;
const query = mysql.Connection.prototype.query;
mysql.Connection.prototype.query = function countedQuery(...args) {
  sent++;
  return query.apply(this, args);
};
const dataSource = await openDataSource();
const redis = await openRedis();
const { app, engine } = await startEngine(dataSource, redis);
const baseline = await openBaseline(DATABASE_URL, POOL_SIZE, redis);
const run = `rt-${Date.now().toString(36)}`;
const orderId = `${run}-e`;
await engine.createOrder({ requestId: `${run}-c`, bizCode: 'BENCH', sceneId: 'S', orderId });
await baseline.seed([`${run}-b`]);

const COUNTERS = ['Questions', 'Com_select', 'Com_insert', 'Com_update', 'Com_begin', 'Com_commit'];
const mysqlStatus = async () =>
  Object.fromEntries((await dataSource.query('SHOW GLOBAL STATUS WHERE Variable_name IN (?)', [COUNTERS])).map((r) => [r.Variable_name, Number(r.Value)]));
const redisCalls = async () => {
  const stats = await redis.info('commandstats');
  const calls = {};
  for (const [, name, n] of stats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) calls[name] = Number(n);
  return calls;
};

async function count(name, step) {
  const [m0, r0] = [await mysqlStatus(), await redisCalls()];
  const s0 = sent;
  for (let i = 0; i < EVENTS; i++) await step(i);
  const roundTrips = (sent - s0) / EVENTS;
  const [m1, r1] = [await mysqlStatus(), await redisCalls()];
  // The two SHOW STATUS and INFO calls of the measurement itself are not the event's.
  const sql = Object.fromEntries(COUNTERS.map((k) => [k, Math.round(((m1[k] - m0[k] - (k === 'Questions' ? 1 : 0)) / EVENTS) * 100) / 100]));
  const commands = Object.entries(r1)
    .map(([k, v]) => [k, Math.round(((v - (r0[k] ?? 0) - (k === 'info' ? 1 : 0)) / EVENTS) * 100) / 100])
    .filter(([, v]) => v > 0);
  console.log(`${name.padEnd(6)} SQL per event: ${JSON.stringify(sql)}; database round trips: ${roundTrips}`);
  console.log(`${''.padEnd(6)} Redis per event: ${commands.map(([k, v]) => `${k} ${v}`).join(', ')} (eval/evalsha are the round trips; the commands a script runs stay on the server)`);
}

await count('engine', (i) => engine.sendEvent({ eventType: 'FLIP', orderId, requestId: `${run}-${i}` }));
await count('floor', (i) => baseline.transition(`${run}-b`, `${run}-b-${i}`));
for (const t of ['fsm_outbox', 'fsm_transition', 'fsm_order']) await dataSource.query(`DELETE FROM ${t} WHERE ${t === 'fsm_order' ? 'id' : 'order_id'} LIKE ?`, [`${run}-%`]);
await baseline.close();
await app.close();
redis.disconnect();
await dataSource.destroy();
