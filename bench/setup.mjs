// Shared setup for the benchmarks: the built library (npm run build), the real services, one bench machine.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import * as fsm from '../dist/libs/order-fsm/src/index.js';

export const DATABASE_URL = process.env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export const POOL_SIZE = 16;

/** A two-state machine: FLIP moves A <-> B, so every event is a real, fenced transition. */
export const benchMachine = fsm.defineMachine({
  name: 'bench',
  initial: 'INIT',
  states: { A: {}, B: {} },
  transitions: [
    { from: 'INIT', event: 'CREATE', to: 'A' },
    { from: 'A', event: 'FLIP', to: 'B' },
    { from: 'B', event: 'FLIP', to: 'A' },
  ],
});

class CreateProcessor extends fsm.AbstractStateProcessor {
  getNextState() { return 'A'; }
  action() { return fsm.ServiceResult.ok(); }
}
fsm.OrderProcessor({ state: 'INIT', event: 'CREATE', bizCode: 'BENCH' })(CreateProcessor);

class FlipProcessor extends fsm.AbstractStateProcessor {
  getNextState(ctx) { return ctx.order.state === 'A' ? 'B' : 'A'; }
  action() { return fsm.ServiceResult.ok(); }
}
fsm.OrderProcessor({ state: ['A', 'B'], event: 'FLIP', bizCode: 'BENCH' })(FlipProcessor);

export async function openDataSource() {
  const dataSource = new DataSource({
    type: 'mysql', url: DATABASE_URL, timezone: 'Z', poolSize: POOL_SIZE,
    migrations: [...fsm.ORDER_FSM_MIGRATIONS], migrationsRun: true, logging: false,
  });
  await dataSource.initialize();
  return dataSource;
}

export async function openRedis() {
  const redis = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

/** The engine in process: store, lock and outbox as the service has them; no relay (scenario 1 measures the write path). */
export async function startEngine(dataSource, redis) {
  class BenchModule {}
  Module({
    imports: [
      fsm.OrderFsmModule.forRoot({
        machine: benchMachine,
        store: new fsm.TypeOrmOrderStore(dataSource),
        lock: new fsm.RedlockOrderLock(redis, { ttlMs: 10_000, waitMs: 10_000 }),
        timers: { enabled: false },
        sweeper: { enabled: false },
      }),
    ],
    providers: [
      { provide: 'create', useValue: new CreateProcessor() },
      { provide: 'flip', useValue: new FlipProcessor() },
    ],
  })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  return { app, engine: app.get(fsm.OrderFsmEngine), registry: app.get(fsm.ProcessorRegistry) };
}

export { fsm };
