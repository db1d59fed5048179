import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { OrderFsmEngine } from '@order-fsm/core';
import type { MachineDefinition, MachineMigration } from '@order-fsm/core';
import type { Provider } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AppModule } from '../../apps/order-service/src/app.module.js';
import { configureApp, createHttpAdapter } from '../../apps/order-service/src/bootstrap.js';
import { loadServiceConfig, type ServiceConfig } from '../../apps/order-service/src/config/service-config.js';
import { callerAgent, type TestCaller } from './callers.js';

export interface ConfigOverrides extends Partial<Omit<ServiceConfig, 'lock'>> {
  lock?: Partial<ServiceConfig['lock']>;
}

export interface TestApp {
  readonly app: INestApplication;
  readonly config: ServiceConfig;
  readonly dataSource: DataSource;
  readonly engine: OrderFsmEngine;
  /** An HTTP client that sends as `who` (default: the test client). */
  http(who?: TestCaller): ReturnType<typeof request>;
  close(): Promise<void>;
}

export interface TestExtras {
  /** More modules, with processors of their own. */
  modules?: unknown[];
  /** The machine those processors need declared, or another version of the taxi machine as the current one. */
  machine?: MachineDefinition;
  /** The earlier versions served (default: the taxi machine's v1 beside a v2). */
  previousMachines?: MachineDefinition[];
  /** The migrations (default: the taxi machine's v1 -> v2). */
  migrations?: MachineMigration[];
  /** The taxi module's providers, as an earlier release had them (test/support/earlier-release.ts). */
  taxiProviders?: Provider[];
  /**
   * Where the service's log lines go (pino's, the engine's and Nest's), instead of Nest's console at
   * error and warn; set logLevel too, as the lines are otherwise errors only.
   */
  logDestination?: DestinationStream;
  /** Replaces providers (a business dependency such as the company account), never storage or messaging. */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
}

/** The taxi service as main.ts builds it, on the real database (DATABASE_URL), Redis and RabbitMQ of the environment. */
export async function startTestApp(overrides: ConfigOverrides = {}, extras: TestExtras = {}): Promise<TestApp> {
  const base = loadServiceConfig(process.env);
  // Request lines (4xx at warn) and transitions (info) would bury the test output: errors only, unless asked.
  const config: ServiceConfig = { ...base, logLevel: 'error', logFormat: 'json', ...overrides, lock: { ...base.lock, ...overrides.lock } };
  const builder = Test.createTestingModule({
    imports: [
      AppModule.register(config, {
        machine: extras.machine,
        previousMachines: extras.previousMachines,
        migrations: extras.migrations,
        taxiProviders: extras.taxiProviders,
        logDestination: extras.logDestination,
      }),       ...((extras.modules ?? []) as never[]),
    ],
  });
  const moduleRef = await (extras.override ? extras.override(builder) : builder).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createHttpAdapter(config), { logger: ['error', 'warn'] });
  if (extras.logDestination) app.useLogger(app.get(PinoNestLogger));
  try {
    await configureApp(app, config);
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    // A failed bootstrap runs no shutdown hooks: close what did open (pool, Redis) ourselves.
    await app.close().catch(() => undefined);
    throw error;
  }
  const { port } = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    config,
    dataSource: app.get(DataSource),
    engine: app.get(OrderFsmEngine),
    http: (who: TestCaller = 'client') => callerAgent(url, who),
    close: () => app.close(),
  };
}

/** A separate Redis connection for assertions and for setting up conditions. */
export function testRedis(): Redis {
  return new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
}
