import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createStatements, FSM_TABLES } from '../sql/schema.js';
import { POSTGRES_SCHEMA } from './postgres-order-store.js';

/**
 * The engine's tables on PostgreSQL as a TypeORM migration, for a service that runs its schema
 * through migrations: the same statements PostgresOrderStore.ensureSchema() runs, from the same
 * description of the tables, so either way gives the same schema (and running both is harmless).
 */
export class OrderFsmPostgresSchema1796284000000 implements MigrationInterface {
  name = 'OrderFsmPostgresSchema1796284000000';

  async up(runner: QueryRunner): Promise<void> {
    for (const statement of createStatements(POSTGRES_SCHEMA)) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    for (const table of [...FSM_TABLES].reverse()) await runner.query(`DROP TABLE IF EXISTS ${table.name}`);
  }
}

/** Every migration of the engine's tables on PostgreSQL, oldest first: list them in your DataSource. */
export const ORDER_FSM_POSTGRES_MIGRATIONS = [OrderFsmPostgresSchema1796284000000] as const;
