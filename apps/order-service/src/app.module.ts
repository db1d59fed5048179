import { type DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
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
import { dataSourceOptions } from './infrastructure/database.js';
import { REDIS, RedisModule } from './infrastructure/redis.module.js';
import { OrdersController } from './orders/orders.controller.js';
import { PassengersController } from './passengers/passengers.controller.js';
import { taxiMachine } from './taxi/taxi.machine.js';
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
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => dataSourceOptions(config.databaseUrl, config.runMigrations, config.databasePoolSize),
        }),
        redis,
        OrderFsmModule.forRootAsync({
          isGlobal: true,
          imports: [redis],
          inject: [DataSource, REDIS],
          useFactory: (dataSource: DataSource, client: Redis) => ({
            machine: overrides.machine ?? taxiMachine,
            store: new TypeOrmOrderStore(dataSource),
            lock: config.lock.enabled ? new RedlockOrderLock(client, { ttlMs: config.lock.ttlMs, waitMs: config.lock.waitMs }) : false,
          }),
        }),
        TaxiModule.register(redis),
      ],
      controllers: [OrdersController, PassengersController],
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
