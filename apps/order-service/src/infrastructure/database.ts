import { ORDER_FSM_MIGRATIONS } from '@order-fsm/core/mysql';
import type { DataSourceOptions } from 'typeorm';
import { TaxiSchema1763856000001 } from '../migrations/1763856000001-taxi-schema.js';
import { TaxiPassengerActiveRide1796256000000 } from '../migrations/1796256000000-taxi-passenger-active-ride.js';
import { PassengerActiveRideEntity, PassengerEntity, PaymentEntity } from '../taxi/taxi.entities.js';

const TAXI_ENTITIES = [PassengerEntity, PaymentEntity, PassengerActiveRideEntity];

/**
 * The embedded database of a first run: SQLite compiled to WebAssembly (sql.js), in memory or in
 * `file`. order-fsm's tables are created by its SqliteOrderStore, the taxi tables from the entities.
 */
export function embeddedDataSourceOptions(file?: string): DataSourceOptions {
  return {
    type: 'sqljs',
    entities: TAXI_ENTITIES,
    synchronize: true,
    ...(file && { location: file, autoSave: true }),
    logging: false,
  };
}

/** One definition of the database for the service and for the TypeORM CLI (ormconfig.ts). */
export function dataSourceOptions(databaseUrl: string, runMigrations: boolean, poolSize = 16): DataSourceOptions {
  return {
    type: 'mysql',
    url: databaseUrl,
    timezone: 'Z',
    entities: TAXI_ENTITIES,
    migrations: [...ORDER_FSM_MIGRATIONS, TaxiSchema1763856000001, TaxiPassengerActiveRide1796256000000],
    migrationsRun: runMigrations,
    migrationsTransactionMode: 'each',
    synchronize: false,
    poolSize,
    connectTimeout: 5_000,
    // Lets the order store send a transition in two round trips instead of six (three with a save()). The service sends
    // no SQL built from strings: every statement of its own and of order-fsm has placeholders.
    multipleStatements: true,
    extra: { enableKeepAlive: true },
    logging: false,
  };
}
