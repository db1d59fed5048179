import { type DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  type AmqpMessaging,
  OrderFsmExceptionFilter,
  type MachineDefinition,
  OrderFsmModule,
  PrometheusOrderFsmMetrics,
  RedlockOrderLock,
  TypeOrmOrderStore,
  ValidationFailedError,
} from '@order-fsm/core';
import type { ValidationError } from 'class-validator';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import type { ServiceConfig } from './config/service-config.js';
import { FsmController } from './fsm/fsm.controller.js';
import { HealthController } from './health/health.controller.js';
import { dataSourceOptions } from './infrastructure/database.js';
import { JsonBodyGuard } from './infrastructure/json-body.guard.js';
import { AMQP, MessagingModule } from './infrastructure/messaging.module.js';
import { REDIS, RedisModule } from './infrastructure/redis.module.js';
import { OrdersController } from './orders/orders.controller.js';
import { METRICS_REGISTRY, MetricsModule } from './metrics/metrics.module.js';
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
        MetricsModule,
        OrderFsmModule.forRootAsync({
          isGlobal: true,
          imports: [redis, messaging],
          inject: [DataSource, REDIS, AMQP, METRICS_REGISTRY],
          useFactory: (dataSource: DataSource, client: Redis, amqp: AmqpMessaging, registry: Registry) => {
            const store = new TypeOrmOrderStore(dataSource);
            return {
              machine: overrides.machine ?? createTaxiMachine({ autoStuckAfterMs: config.autoStuckAfterMs }),
              store,
              metrics: new PrometheusOrderFsmMetrics(registry, store),
              lock: config.lock.enabled ? new RedlockOrderLock(client, { ttlMs: config.lock.ttlMs, waitMs: config.lock.waitMs }) : false,
              messaging: { publisher: amqp, consumer: amqp },
              relay: { enabled: config.relayEnabled, retentionMs: config.outboxRetentionMs, purgeIntervalMs: Math.min(60_000, config.outboxRetentionMs) },
              worker: { enabled: config.workerEnabled },
              timers: { enabled: config.timersEnabled, intervalMs: config.timerPollMs },
              sweeper: { enabled: config.sweeperEnabled, intervalMs: config.sweeperIntervalMs },
              shutdownTimeoutMs: config.shutdownTimeoutMs,
            };
          },
        }),
        TaxiModule.register(redis, { acceptTimeoutMs: config.acceptTimeoutMs, paymentTimeoutMs: config.paymentTimeoutMs }),
      ],
      controllers: [OrdersController, PassengersController, HealthController, FsmController],
      providers: [
        { provide: APP_FILTER, useClass: OrderFsmExceptionFilter },
        { provide: APP_GUARD, useClass: JsonBodyGuard },
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
