import { ORDER_FSM_MIGRATIONS } from '@order-fsm/core/mysql';
import { ORDER_FSM_POSTGRES_MIGRATIONS } from '@order-fsm/core/postgres';
import type { DataSourceOptions } from 'typeorm';
import { databaseKindOf } from '../config/service-config.js';
import { TaxiSchema1763856000001 } from '../migrations/1763856000001-taxi-schema.js';
import { TaxiPassengerActiveRide1796256000000 } from '../migrations/1796256000000-taxi-passenger-active-ride.js';
import { TaxiSchemaPostgres1796284000001 } from '../migrations/postgres/1796284000001-taxi-schema.js';
import { TaxiPassengerActiveRidePostgres1796284000002 } from '../migrations/postgres/1796284000002-taxi-passenger-active-ride.js';
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

/**
 * One definition of the database for the service and for the TypeORM CLI (ormconfig.ts), on MariaDB
 * or MySQL (`mysql://`, `mariadb://`) or PostgreSQL (`postgres://`, `postgresql://`). Each lists
 * order-fsm's migrations for it, then the taxi tables' own, in its SQL.
 */
export function dataSourceOptions(databaseUrl: string, runMigrations: boolean, poolSize = 16): DataSourceOptions {
  const common = {
    url: databaseUrl,
    entities: TAXI_ENTITIES,
    migrationsRun: runMigrations,
    migrationsTransactionMode: 'each',
    synchronize: false,
    poolSize,
    logging: false,
  } as const;
  if (databaseKindOf(databaseUrl) === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      migrations: [...ORDER_FSM_POSTGRES_MIGRATIONS, TaxiSchemaPostgres1796284000001, TaxiPassengerActiveRidePostgres1796284000002],
      connectTimeoutMS: 5_000,
      // TCP keep-alive on the pool's connections, as on MySQL; statements are sent apart from their values ($1, $2, ...).
      extra: { keepAlive: true },
    };
  }
  return {
    ...common,
    type: 'mysql',
    timezone: 'Z',
    migrations: [...ORDER_FSM_MIGRATIONS, TaxiSchema1763856000001, TaxiPassengerActiveRide1796256000000],
    connectTimeout: 5_000,
    // Lets the order store send a transition in two round trips instead of six (five and its own with a save()). The service sends
    // no SQL built from strings: every statement of its own and of order-fsm has placeholders. MySQL only: pg has no such mode.
    multipleStatements: true,
    extra: { enableKeepAlive: true },
  };
}
