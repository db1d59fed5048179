// A process of the fault suite that runs the order-fsm library (built: dist/) on the real MariaDB (or
// PostgreSQL, when DATABASE_URL says so), Redis and RabbitMQ, with processors that can stop at a
// chosen point and wait there to be killed.
// Forked by the suite; it answers commands over IPC ({ id, cmd, ... } -> { id, ok, outcome | error }).
//
//   FAULT_ROLE      worker (relay + worker) | client (neither)
//   FAULT_PREFIX    the AMQP prefix of the suite
//   FAULT_STOP_AT   action | save | after | relay-acked: where to stop (prints "AT <point> <orderId> <version>")
//   FAULT_STOP_ORDER the order to stop for ('*' for any)
//   FAULT_LOCK_TTL_MS the Redis lock's time to live
//
// A worker also prints "SWEPT <epoch ms> <requeued>" after each pass of its sweeper.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import * as core from '../../../dist/libs/order-fsm/src/index.js';
import * as amqpAdapter from '../../../dist/libs/order-fsm/src/adapters/amqp/index.js';
import * as mysqlAdapter from '../../../dist/libs/order-fsm/src/adapters/mysql/index.js';
import * as redisAdapter from '../../../dist/libs/order-fsm/src/adapters/redis/index.js';
import { Sweeper } from '../../../dist/libs/order-fsm/src/workers/sweeper.js';
import { ProcessorRegistry } from '../../../dist/libs/order-fsm/src/registry/processor-registry.js';

/** The library's main entry point with the adapters and internals these scripts drive, under one name. */
const fsm = { ...core, ...amqpAdapter, ...mysqlAdapter, ...redisAdapter, Sweeper, ProcessorRegistry };

const env = process.env;
const role = env.FAULT_ROLE ?? 'client';
const stopAt = env.FAULT_STOP_AT;
const stopOrder = env.FAULT_STOP_ORDER ?? '*';

// The machine, as data shared with the suite: S1 -> S2 -> S3 -> DONE through automatic NEXTs (AUTO and
// POISON orders), A <-> B on MOVE (MANUAL orders).
const spec = JSON.parse(readFileSync(new URL('./fault-machine.json', import.meta.url), 'utf8'));
const machine = fsm.defineMachine(spec);
const STEPS = ['S1', 'S2', 'S3'];

/** Holders waiting for the command `release`, by order. */
const holds = new Map();

/** Stops here for good (until killed) when this is the chosen point. */
async function point(name, order) {
  if (stopAt !== name || (stopOrder !== '*' && stopOrder !== order.orderId)) return;
  process.stdout.write(`AT ${name} ${order.orderId} ${order.version}\n`);
  await new Promise(() => undefined);
}

class Steps extends fsm.AbstractStateProcessor {
  getNextState(ctx) {
    if (ctx.event.eventType === 'CREATE') return ctx.order.bizCode === 'MANUAL' ? 'A' : 'S1';
    if (ctx.event.eventType === 'MOVE') return ctx.order.state === 'A' ? 'B' : 'A';
    return STEPS[STEPS.indexOf(ctx.order.state) + 1] ?? 'DONE';
  }
  async action(_next, ctx) {
    if (ctx.order.bizCode === 'POISON' && ctx.event.eventType === 'NEXT') {
      process.stdout.write(`POISONED ${ctx.order.orderId}\n`);
      throw new Error('poison: this work can never succeed');
    }
    // A holder: it has the lock and the order as read, and writes only once the suite lets it go
    // (the command `release`), however long the suite takes to pause it and move the order meanwhile.
    if (ctx.event.payload?.hold) {
      process.stdout.write(`HOLDING ${ctx.order.orderId} ${ctx.order.version}\n`);
      await new Promise((resolve) => holds.set(ctx.order.orderId, resolve));
    }
    await point('action', ctx.order);
    return fsm.ServiceResult.ok();
  }
  async save(_next, ctx) {
    await point('save', ctx.order);
    return fsm.ServiceResult.ok();
  }
  async after(ctx) {
    await point('after', ctx.order);
  }
}
fsm.OrderProcessor({ event: 'CREATE' })(Steps);
class Next extends Steps {}
fsm.OrderProcessor({ state: STEPS, event: 'NEXT' })(Next);
class Move extends Steps {}
fsm.OrderProcessor({ state: ['A', 'B'], event: 'MOVE' })(Move);

// The store of the suite's database: MysqlOrderStore on MariaDB (its migrations), PostgresOrderStore on PostgreSQL (ensureSchema()).
const databaseUrl = env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/test';
const onPostgres = /^postgres(ql)?:/i.test(databaseUrl);
const dataSource = new DataSource(
  onPostgres
    ? { type: 'postgres', url: databaseUrl, poolSize: 8 }
    : { type: 'mysql', url: databaseUrl, timezone: 'Z', poolSize: 8, migrations: [...fsm.ORDER_FSM_MIGRATIONS], migrationsRun: true },
);
await dataSource.initialize();
let store;
if (onPostgres) {
  const { PostgresOrderStore } = await import('../../../dist/libs/order-fsm/src/adapters/postgres/index.js');
  store = new PostgresOrderStore(dataSource);
  await store.ensureSchema();
} else {
  store = new fsm.MysqlOrderStore(dataSource);
}
const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
await new Promise((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', resolve)));
const messaging = new fsm.AmqpMessaging(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', {
  prefix: env.FAULT_PREFIX,
  retryDelaysMs: [200, 400],
});
if (stopAt === 'relay-acked') {
  // After the broker's ack, before the relay marks the rows: the window a crash turns into duplicates.
  const publish = messaging.publish.bind(messaging);
  messaging.publish = async (messages) => {
    const acked = await publish(messages);
    const chosen = messages.find((m) => stopOrder === '*' || m.orderId === stopOrder);
    if (chosen && acked.length > 0) {
      process.stdout.write(`AT relay-acked ${chosen.orderId} ${acked.length}\n`);
      await new Promise(() => undefined);
    }
    return acked;
  };
}

class FaultModule {}
Module({
  imports: [
    fsm.OrderFsmModule.forRoot({
      machine,
      store,
      lock: new fsm.RedlockOrderLock(redis, { ttlMs: Number(env.FAULT_LOCK_TTL_MS ?? 10_000), waitMs: 2_000 }),
      messaging: { publisher: messaging, consumer: messaging },
      relay: { enabled: role === 'worker', pollIntervalMs: 100 },
      worker: { enabled: role === 'worker' },
      timers: { enabled: false },
      sweeper: { enabled: role === 'worker', intervalMs: 500 },
    }),
  ],
  providers: [Steps, Next, Move],
})(FaultModule);
const app = await NestFactory.createApplicationContext(FaultModule, { logger: ['error'] });
const engine = app.get(fsm.OrderFsmEngine);
if (role === 'worker') {
  // Each sweep says when it looked ("SWEPT <epoch ms> <requeued>"): a suite waits for sweeps, not for time.
  const sweeper = app.get(fsm.Sweeper);
  const sweep = sweeper.sweep.bind(sweeper);
  sweeper.sweep = async (now = new Date()) => {
    const requeued = await sweep(now);
    process.stdout.write(`SWEPT ${now.getTime()} ${requeued}\n`);
    return requeued;
  };
}

process.on('message', async ({ id, cmd, ...args }) => {
  try {
    let outcome;
    if (cmd === 'create') outcome = await engine.createOrder({ requestId: args.requestId, bizCode: args.bizCode, sceneId: 'S', orderId: args.orderId });
    else if (cmd === 'send') outcome = await engine.sendEvent({ eventType: args.event, orderId: args.orderId, requestId: args.requestId, payload: args.payload });
    else if (cmd === 'release') {
      if (!holds.has(args.orderId)) throw new Error(`nothing holds order ${args.orderId}`);
      holds.get(args.orderId)();
      holds.delete(args.orderId);
    }
    else if (cmd === 'stop') {
      await app.close();
      await messaging.close();
      redis.disconnect();
      await dataSource.destroy();
      process.send({ id, ok: true });
      process.exit(0);
    }
    process.send({ id, ok: true, outcome: outcome && { version: outcome.version, toState: outcome.toState, replayed: !!outcome.replayed } });
  } catch (error) {
    process.send({ id, ok: false, error: { code: error.code ?? 'INTERNAL_ERROR', message: error.message } });
  }
});
process.stdout.write('READY\n');
