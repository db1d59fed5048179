// Shared setup for the benchmarks: the built library (npm run build), the real services, one bench machine.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import pg from 'pg';
import { DataSource } from 'typeorm';
import * as core from '../dist/libs/order-fsm/src/index.js';
import * as amqpAdapter from '../dist/libs/order-fsm/src/adapters/amqp/index.js';
import * as mysqlAdapter from '../dist/libs/order-fsm/src/adapters/mysql/index.js';
import * as redisAdapter from '../dist/libs/order-fsm/src/adapters/redis/index.js';
import { Sweeper } from '../dist/libs/order-fsm/src/workers/sweeper.js';
import { ProcessorRegistry } from '../dist/libs/order-fsm/src/registry/processor-registry.js';
import { taxiMachine } from '../dist/apps/order-service/src/taxi/taxi.machine.js';

/** The library's main entry point with the adapters and internals these scripts drive, under one name. */
const fsm = { ...core, ...amqpAdapter, ...mysqlAdapter, ...redisAdapter, Sweeper, ProcessorRegistry };

export const DATABASE_URL = process.env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/test';
/** `--db=postgres` (or BENCH_DB=postgres): the same database as the store contract tests, unless told otherwise. */
export const POSTGRES_URL = process.env.POSTGRES_URL || 'postgres://root@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
export const POOL_SIZE = 16;
/** The REST scenarios' one caller: the service is started with it (API_TOKENS) and the load sends its token. */
export const BENCH_TOKEN = 'bench-client-token';
export const BENCH_API_TOKENS = `bench:client:${BENCH_TOKEN}`;
export const AUTO_STATES = ['S1', 'S2', 'S3', 'S4', 'S5'];

/**
 * The bench machine. FLIP moves A <-> B, so every event is a real, fenced transition; an AUTO order
 * walks S1 -> S2 -> S3 -> S4 -> S5 -> DONE through the worker, one automatic NEXT at a time.
 */
export const benchMachineSpec = {
  name: 'bench',
  // The taxi service's current version: the REST scenarios' orders are created here and driven through
  // the service (bench/rest-server.mjs), whose processors serve its current version only.
  version: taxiMachine.version,
  initial: 'INIT',
  states: {
    A: {},
    B: {},
    ...Object.fromEntries(AUTO_STATES.map((s) => [s, { automatic: { event: 'NEXT', bizCode: 'AUTO', stuckAfterMs: 600_000 } }])),
    DONE: { final: true },
  },
  transitions: [
    { from: 'INIT', event: 'CREATE', to: 'A' },
    { from: 'A', event: 'FLIP', to: 'B' },
    { from: 'B', event: 'FLIP', to: 'A' },
    { from: 'INIT', event: 'CREATE', to: 'S1' },
    ...AUTO_STATES.map((s, i) => ({ from: s, event: 'NEXT', to: AUTO_STATES[i + 1] ?? 'DONE' })),
  ],
};
export const benchMachine = fsm.defineMachine(benchMachineSpec);

export class CreateProcessor extends fsm.AbstractStateProcessor {
  getNextState(ctx) { return ctx.order.bizCode === 'AUTO' ? 'S1' : 'A'; }
  action() { return fsm.ServiceResult.ok(); }
}
fsm.OrderProcessor({ state: 'INIT', event: 'CREATE', bizCode: ['BENCH', 'AUTO'] })(CreateProcessor);

export class FlipProcessor extends fsm.AbstractStateProcessor {
  getNextState(ctx) { return ctx.order.state === 'A' ? 'B' : 'A'; }
  action() { return fsm.ServiceResult.ok(); }
}
fsm.OrderProcessor({ state: ['A', 'B'], event: 'FLIP', bizCode: 'BENCH' })(FlipProcessor);

export class NextProcessor extends fsm.AbstractStateProcessor {
  getNextState(ctx) { return AUTO_STATES[AUTO_STATES.indexOf(ctx.order.state) + 1] ?? 'DONE'; }
  action() { return fsm.ServiceResult.ok(); }
}
fsm.OrderProcessor({ state: AUTO_STATES, event: 'NEXT', bizCode: 'AUTO' })(NextProcessor);

export const benchProcessors = [
  { provide: 'bench-create', useValue: new CreateProcessor() },
  { provide: 'bench-flip', useValue: new FlipProcessor() },
  { provide: 'bench-next', useValue: new NextProcessor() },
];

export async function openDataSource() {
  const dataSource = new DataSource({
    type: 'mysql', url: DATABASE_URL, timezone: 'Z', poolSize: POOL_SIZE,
    // As the service has it: the store sends a transition in two round trips instead of six (three with a save()).
    multipleStatements: process.env.BENCH_MULTIPLE_STATEMENTS !== 'false',
    migrations: [...fsm.ORDER_FSM_MIGRATIONS], migrationsRun: true, logging: false,
  });
  await dataSource.initialize();
  return dataSource;
}

/**
 * The engine's store on PostgreSQL, as an application would set it up: a TypeORM DataSource of type
 * `postgres` (a pg.Pool of POOL_SIZE underneath), PostgresOrderStore on it, its tables from ensureSchema().
 * The subpath is imported only here, so that the MariaDB runs never load it.
 */
export async function openPostgres() {
  const { PostgresOrderStore } = await import('../dist/libs/order-fsm/src/adapters/postgres/index.js');
  const dataSource = new DataSource({ type: 'postgres', url: POSTGRES_URL, poolSize: POOL_SIZE, logging: false });
  await dataSource.initialize();
  const store = new PostgresOrderStore(dataSource);
  await store.ensureSchema();
  // What autovacuum does on a PostgreSQL with its defaults, done here because a server may run with it
  // off (this machine's does): without it every published message and every transition leaves a dead
  // row version behind, and the relay's claim wades through them (docs/BENCHMARKS.md, "The relay on PostgreSQL").
  await vacuumUnlessAutovacuum(dataSource);
  return { dataSource, store };
}

export const autovacuumOn = async (dataSource) => (await dataSource.query("SELECT setting FROM pg_settings WHERE name = 'autovacuum'"))[0].setting === 'on';

let standIn;
/**
 * On a PostgreSQL running without autovacuum, what autovacuum does while the scenarios run: the
 * tables grow and shrink by tens of thousands of rows a scenario, and a planner left with the
 * statistics of the start (an empty outbox, say) sorts the whole outbox for every claim of the
 * relay (docs/BENCHMARKS.md, "The relay on PostgreSQL"). Every 5 s it analyzes order-fsm's tables,
 * and every 30 s it vacuums the two that are updated, throttled as autovacuum is by default (2 ms
 * per 200 cost units), on a connection of its own opened for each round. Once per process; only
 * the suite's own process (bench/run.mjs) starts it, so that the tools that count statements or
 * time them (roundtrips.mjs, cost-postgres.mjs) and the suite's forked peers do not.
 */
export function standInForAutovacuum() {
  if (standIn) return;
  let round = 0;
  let busy = false;
  standIn = setInterval(async () => {
    if (busy) return;
    busy = true;
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    try {
      await client.connect();
      if (++round % 6 === 0) {
        await client.query('SET vacuum_cost_delay = 2');
        await client.query('SET vacuum_cost_limit = 200');
        await client.query('VACUUM fsm_outbox, fsm_order');
      }
      await client.query('ANALYZE fsm_outbox, fsm_order, fsm_transition');
    } catch {
      // The tables dropped or the server restarted under it: the next round tries again.
    } finally {
      busy = false;
      await client.end().catch(() => {});
    }
  }, 5_000);
  standIn.unref();
}

/** On a PostgreSQL running without autovacuum, what autovacuum would have done by now to order-fsm's tables. */
export async function vacuumUnlessAutovacuum(dataSource) {
  if (!(await autovacuumOn(dataSource))) await dataSource.query('VACUUM ANALYZE fsm_outbox, fsm_order, fsm_transition');
}

export async function openRedis() {
  const redis = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

/**
 * The engine in process, with store and lock as the service has them (the store on `dataSource`,
 * TypeOrmOrderStore unless another is given). Without `messaging` there is
 * no relay and no worker: scenario 1 measures the write path (the outbox rows are still written).
 */
export async function startEngine(dataSource, redis, { messaging, store = new fsm.TypeOrmOrderStore(dataSource) } = {}) {
  class BenchModule {}
  Module({
    imports: [
      fsm.OrderFsmModule.forRoot({
        machine: benchMachine,
        store,
        lock: new fsm.RedlockOrderLock(redis, { ttlMs: 10_000, waitMs: 10_000 }),
        ...(messaging && { messaging: { publisher: messaging, consumer: messaging }, relay: { retentionMs: 3_600_000, ...(process.env.RELAY_BATCH && { batchSize: Number(process.env.RELAY_BATCH) }) } }),
        timers: { enabled: false },
        sweeper: { enabled: false },
      }),
    ],
    providers: benchProcessors,
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  await app.init();
  return { app, engine: app.get(fsm.OrderFsmEngine), store: app.get(fsm.ORDER_STORE) };
}

export { fsm };
