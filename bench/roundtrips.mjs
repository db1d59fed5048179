// node bench/roundtrips.mjs [--db=postgres] (after npm run build): the statements and Redis commands one
// event costs, engine against the floor. On MariaDB the statements are counted by the server itself (SHOW
// GLOBAL STATUS); on PostgreSQL, which keeps no statement counters without pg_stat_statements, as pg sends
// them (each is one round trip), by their first words. Redis commands are counted as ioredis sends them.
import { Redis } from 'ioredis';
import mysql from 'mysql2';
import pg from 'pg';
import { openBaseline } from './baseline.mjs';
import { openPostgresBaseline } from './baseline-postgres.mjs';
import { DATABASE_URL, POOL_SIZE, POSTGRES_URL, openDataSource, openPostgres, openRedis, startEngine } from './setup.mjs';

const EVENTS = 200;
const args = process.argv.slice(2);
const db = args.find((a) => a.startsWith('--db='))?.slice('--db='.length) ?? (args.includes('--db') ? args[args.indexOf('--db') + 1] : process.env.BENCH_DB);
const postgres = ['postgres', 'postgresql', 'pg'].includes(db);

// Round trips as the client sees them: every query the driver sends (a multi-statement batch is one).
let sent = 0;
const kinds = new Map();
const countedOn = (proto) => {
  const query = proto.query;
  proto.query = function countedQuery(...args) {
    sent++;
    const text = typeof args[0] === 'string' ? args[0] : (args[0]?.text ?? args[0]?.sql ?? '?');
    const kind = text.trim().split(/\s+/).slice(0, 2).join(' ').toUpperCase();
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    return query.apply(this, args);
  };
};
countedOn(postgres ? pg.Client.prototype : mysql.Connection.prototype);

const redis = await openRedis();
const { dataSource, store } = postgres ? await openPostgres() : { dataSource: await openDataSource() };
const { app, engine } = await startEngine(dataSource, redis, { store });
const baseline = postgres ? await openPostgresBaseline(POSTGRES_URL, POOL_SIZE, redis) : await openBaseline(DATABASE_URL, POOL_SIZE, redis);
const run = `rt-${Date.now().toString(36)}`;
const orderId = `${run}-e`;
await engine.createOrder({ requestId: `${run}-c`, bizCode: 'BENCH', sceneId: 'S', orderId });
await baseline.seed([`${run}-b`, `${run}-f`]);

const COUNTERS = ['Questions', 'Com_select', 'Com_insert', 'Com_update', 'Com_begin', 'Com_commit'];
const mysqlStatus = async () =>
  postgres ? {} : Object.fromEntries((await dataSource.query('SHOW GLOBAL STATUS WHERE Variable_name IN (?)', [COUNTERS])).map((r) => [r.Variable_name, Number(r.Value)]));
// Redis commands as this process sends them (every connection, the lock's subscriber too): the server's
// INFO commandstats would count every other client of a shared Redis as well.
const redisSent = new Map();
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function countedCommand(command, ...rest) {
  redisSent.set(command.name, (redisSent.get(command.name) ?? 0) + 1);
  return sendCommand.call(this, command, ...rest);
};
const redisCalls = async () => Object.fromEntries(redisSent);

async function count(name, step) {
  const [m0, r0] = [await mysqlStatus(), await redisCalls()];
  const s0 = sent;
  kinds.clear();
  for (let i = 0; i < EVENTS; i++) await step(i);
  const roundTrips = (sent - s0) / EVENTS;
  const statements = Object.fromEntries([...kinds].map(([k, v]) => [k, Math.round((v / EVENTS) * 100) / 100]));
  const [m1, r1] = [await mysqlStatus(), await redisCalls()];
  const commands = Object.entries(r1)
    .map(([k, v]) => [k, Math.round(((v - (r0[k] ?? 0)) / EVENTS) * 100) / 100])
    .filter(([, v]) => v > 0);
  if (postgres) {
    console.log(`${name.padEnd(6)} statements per event, as pg sends them: ${JSON.stringify(statements)}; database round trips: ${roundTrips}`);
  } else {
    // The SHOW STATUS call of the measurement itself is not the event's.
    const sql = Object.fromEntries(COUNTERS.map((k) => [k, Math.round(((m1[k] - m0[k] - (k === 'Questions' ? 1 : 0)) / EVENTS) * 100) / 100]));
    console.log(`${name.padEnd(6)} SQL per event: ${JSON.stringify(sql)}; database round trips: ${roundTrips}`);
  }
  console.log(`${''.padEnd(6)} Redis per event: ${commands.map(([k, v]) => `${k} ${v}`).join(', ')} (eval/evalsha are the round trips; the commands a script runs stay on the server)`);
}

await count('engine', (i) => engine.sendEvent({ eventType: 'FLIP', orderId, requestId: `${run}-${i}` }));
await count('floor', (i) => baseline.transition(`${run}-b`, `${run}-b-${i}`));
if (postgres) await count('floor writing the engine\'s rows', (i) => baseline.transitionWithEngineRows(`${run}-f`, `${run}-f-${i}`));
for (const t of ['fsm_outbox', 'fsm_transition', 'fsm_order']) {
  await dataSource.query(`DELETE FROM ${t} WHERE ${t === 'fsm_order' ? 'id' : 'order_id'} LIKE ${postgres ? '$1' : '?'}`, [`${run}-%`]);
}
await baseline.close();
await app.close();
redis.disconnect();
await dataSource.destroy();
