import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  type OrderLock,
  type OrderStore,
  type MachineDefinition,
  type MachineMigration,
  OrderFsmModule,
} from '@order-fsm/core';
import { InProcessOrderLock } from '@order-fsm/core/in-process';
import { OrderFsmOpsModule } from '@order-fsm/core/ops';
import { MysqlOrderStore } from '@order-fsm/core/mysql';
import { PrometheusOrderFsmMetrics } from '@order-fsm/core/prometheus';
import { RedlockOrderLock } from '@order-fsm/core/redis';
import { SqliteOrderStore } from '@order-fsm/core/sqlite';
import { PostgresOrderStore } from '@order-fsm/core/postgres';
import type { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import type { FastifyRequest } from 'fastify';
import { RolesGuard } from './auth/auth.js';
import { type ServiceConfig, taxiMachineOptionsOf } from './config/service-config.js';
import { consoleModule } from './console/console.js';
import { FsmController } from './fsm/fsm.controller.js';
import { HealthController } from './health/health.controller.js';
import { dataSourceOptions, embeddedDataSourceOptions } from './infrastructure/database.js';
import { JsonBodyGuard } from './infrastructure/json-body.guard.js';
import { ServiceValidationPipe } from './infrastructure/validation.pipe.js';
import { ServiceExceptionFilter } from './infrastructure/exception.filter.js';
import { loggerParams, RequestLogInterceptor, requestLinesOn } from './infrastructure/logging.js';
import { MESSAGING, type Messaging, MessagingModule } from './infrastructure/messaging.module.js';
import { REDIS, RedisModule } from './infrastructure/redis.module.js';
import { OrdersController } from './orders/orders.controller.js';
import { METRICS_REGISTRY, MetricsModule } from './metrics/metrics.module.js';
import { PassengersController } from './passengers/passengers.controller.js';
import { createTaxiMachine, taxiMachines } from './taxi/taxi.machine.js';
import { BIZ_CODES, REFUSAL_REASONS, SCENE_IDS } from './taxi/taxi.model.js';
import { TaxiModule } from './taxi/taxi.module.js';

export interface AppModuleOverrides {
  /**
   * The current machine, when not the taxi one (tests add transitions of their own). The taxi
   * machine's v1 is served beside it, with the v1 -> v2 migration, unless it is a v1 itself.
   */
  machine?: MachineDefinition;
  /** The earlier versions served, instead of the taxi machine's v1. */
  previousMachines?: MachineDefinition[];
  /** The migrations, instead of the taxi machine's v1 -> v2. */
  migrations?: MachineMigration[];
  /** The taxi module's providers, instead of TAXI_PROVIDERS (the tests boot the service as an earlier release had them). */
  taxiProviders?: readonly Provider[];
  /** Where the log lines go, instead of stdout (the tests read them). */
  logDestination?: DestinationStream;
}

/**
 * The taxi order service: order-fsm driven through REST. External mode runs it on MariaDB (or MySQL)
 * or PostgreSQL, Redis and RabbitMQ; embedded mode on SQLite, an in-process lock and an in-process
 * queue. Only the adapters differ: the engine, the processors and the controllers are the same.
 */
@Module({})
export class AppModule {
  static register(config: ServiceConfig, overrides: AppModuleOverrides = {}): DynamicModule {
    const embedded = config.mode === 'embedded';
    // Embedded mode has no Redis: the lock lives in this process.
    const redis = embedded ? undefined : RedisModule.register(config.redisUrl, config.redisReadyTimeoutMs);
    const messaging = MessagingModule.register(config);
    const fsmImports = redis ? [redis, messaging] : [messaging];
    const lockOf = (client?: Redis): OrderLock | false => {
      if (!config.lock.enabled) return false;
      return client ? new RedlockOrderLock(client, { ttlMs: config.lock.ttlMs, waitMs: config.lock.waitMs }) : new InProcessOrderLock({ waitMs: config.lock.waitMs });
    };
    const storeOf = async (dataSource: DataSource): Promise<OrderStore> => {
      if (dataSource.options.type === 'postgres') return new PostgresOrderStore(dataSource);
      if (!embedded) return new MysqlOrderStore(dataSource);
      const store = new SqliteOrderStore(dataSource);
      await store.ensureSchema();
      return store;
    };
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot(loggerParams(config, overrides.logDestination)),
        TypeOrmModule.forRootAsync({
          useFactory: () =>
            embedded ? embeddedDataSourceOptions(config.sqliteFile) : dataSourceOptions(config.databaseUrl, config.runMigrations, config.databasePoolSize),
        }),
        ...(redis ? [redis] : []),
        messaging,
        TerminusModule,
        MetricsModule,
        OrderFsmModule.forRootAsync({
          isGlobal: true,
          imports: fsmImports,
          inject: [DataSource, MESSAGING, METRICS_REGISTRY, ...(redis ? [REDIS] : [])],
          useFactory: async (dataSource: DataSource, messagingAdapter: Messaging, registry: Registry, client?: Redis) => {
            const store = await storeOf(dataSource);
            const machineOptions = taxiMachineOptionsOf(config);
            // v2 for new orders; v1 for the orders created under it, until operators migrate them.
            const versions = taxiMachines(overrides.machine ?? createTaxiMachine(machineOptions), machineOptions);
            return {
              machine: versions.machine,
              previousMachines: overrides.previousMachines ?? versions.previousMachines,
              migrations: overrides.migrations ?? versions.migrations,
              store,
              metrics: new PrometheusOrderFsmMetrics(registry, store),
              // Loaded only when tracing is on: otherwise nothing of the SDK is.
              ...(config.tracing && { tracing: (await import('./tracing/tracing-sdk.js')).engineTracing() }),
              lock: lockOf(client),
              messaging: { publisher: messagingAdapter, consumer: messagingAdapter },
              relay: { enabled: config.relayEnabled, retentionMs: config.outboxRetentionMs, purgeIntervalMs: Math.min(60_000, config.outboxRetentionMs) },
              worker: { enabled: config.workerEnabled },
              timers: { enabled: config.timersEnabled, intervalMs: config.timerPollMs },
              sweeper: { enabled: config.sweeperEnabled, intervalMs: config.sweeperIntervalMs },
              shutdownTimeoutMs: config.shutdownTimeoutMs,
              // Metrics label transitions with these by name, any other bizCode or sceneId as `other`.
              dimensions: { bizCodes: BIZ_CODES, sceneIds: SCENE_IDS },
              // Refusals by these reasons by name, any other as `other`.
              refusalReasons: REFUSAL_REASONS,
            };
          },
        }),
        TaxiModule.register(
          { acceptTimeoutMs: config.acceptTimeoutMs, paymentTimeoutMs: config.paymentTimeoutMs, fraudReviewAboveCents: config.fraudReviewAboveCents },
          overrides.taxiProviders,
        ),
        // The operator API (/ops), behind the service's own callers: the authentication hook has put
        // the caller on the request (no token was answered 401 before); the operator role may use it.
        OrderFsmOpsModule.forRoot({
          callerOf: (request) => (request as FastifyRequest).caller,
          roles: ['operator'],
          actors: config.callers.filter((caller) => caller.role === 'operator').map((caller) => caller.name),
        }),
        consoleModule(config),
      ],
      controllers: [OrdersController, PassengersController, HealthController, FsmController],
      providers: [
        { provide: APP_FILTER, useClass: ServiceExceptionFilter },
        // Notes the order and the event's requestId for the request's line; only while there is one.
        ...(requestLinesOn(config) ? [{ provide: APP_INTERCEPTOR, useClass: RequestLogInterceptor }] : []),
        { provide: APP_GUARD, useClass: RolesGuard },
        { provide: APP_GUARD, useClass: JsonBodyGuard },
        {
          provide: APP_PIPE,
          useValue: new ServiceValidationPipe(),
        },
      ],
    };
  }
}
