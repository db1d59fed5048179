import { type DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  type AmqpMessaging,
  OrderFsmExceptionFilter,
  type MachineDefinition,
  OrderFsmModule,
  RedlockOrderLock,
  TypeOrmOrderStore,
  ValidationFailedError,
} from '@order-fsm/core';
import type { ValidationError } from 'class-validator';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import type { ServiceConfig } from './config/service-config.js';
import { HealthController } from './health/health.controller.js';
import { dataSourceOptions } from './infrastructure/database.js';
import { AMQP, MessagingModule } from './infrastructure/messaging.module.js';
import { REDIS, RedisModule } from './infrastructure/redis.module.js';
import { OrdersController } from './orders/orders.controller.js';
import { PassengersController } from './passengers/passengers.controller.js';
import { createTaxiMachine } from './taxi/taxi.machine.js';
import { TaxiModule } from './taxi/taxi.module.js';

export interface AppModuleOverrides {
  /** A machine that declares more than the taxi one (tests add transitions of their own). */
  machine?: MachineDefinition;
}

function validationError(errors: ValidationError[]): ValidationFailedError {
  const fields = errors.map((e) => ({ field: e.property, problems: Object.values(e.constraints ?? {}) }));
  return new ValidationFailedError(fields.flatMap((f) => f.problems).join('; ') || 'invalid request', { fields });
}

/** The taxi order service: order-fsm on MariaDB and Redis, driven through REST. */
@Module({})
export class AppModule {
  static register(config: ServiceConfig, overrides: AppModuleOverrides = {}): DynamicModule {
    const redis = RedisModule.register(config.redisUrl, config.redisReadyTimeoutMs);
    const messaging = MessagingModule.register(config);
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => dataSourceOptions(config.databaseUrl, config.runMigrations, config.databasePoolSize),
        }),
        redis,
        messaging,
        TerminusModule,
        OrderFsmModule.forRootAsync({
          isGlobal: true,
          imports: [redis, messaging],
          inject: [DataSource, REDIS, AMQP],
          useFactory: (dataSource: DataSource, client: Redis, amqp: AmqpMessaging) => ({
            machine: overrides.machine ?? createTaxiMachine({ autoStuckAfterMs: config.autoStuckAfterMs }),
            store: new TypeOrmOrderStore(dataSource),
            lock: config.lock.enabled ? new RedlockOrderLock(client, { ttlMs: config.lock.ttlMs, waitMs: config.lock.waitMs }) : false,
            messaging: { publisher: amqp, consumer: amqp },
            relay: { enabled: config.relayEnabled, retentionMs: config.outboxRetentionMs, purgeIntervalMs: Math.min(60_000, config.outboxRetentionMs) },
            worker: { enabled: config.workerEnabled },
            timers: { intervalMs: config.timerPollMs },
            sweeper: { intervalMs: config.sweeperIntervalMs },
          }),
        }),
        TaxiModule.register(redis, { acceptTimeoutMs: config.acceptTimeoutMs, paymentTimeoutMs: config.paymentTimeoutMs }),
      ],
      controllers: [OrdersController, PassengersController, HealthController],
      providers: [
        { provide: APP_FILTER, useClass: OrderFsmExceptionFilter },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            forbidUnknownValues: true,
            exceptionFactory: validationError,
          }),
        },
      ],
    };
  }
}
