import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createStatements, FSM_TABLES } from '../sql/schema.js';
import { POSTGRES_INDEXES, POSTGRES_SCHEMA } from './postgres-order-store.js';

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

/**
 * What operators need: orders can be paused, the log says who acted and why, operators'
 * acts are audited and dead-lettered work is kept to redrive or discard; and the indexes behind the
 * operator's list and the fleet's counts. On a database the first migration created in an earlier
 * release it adds what is missing (ADD COLUMN IF NOT EXISTS); on a new one it finds nothing to do.
 */
export class OrderFsmPostgresOperations1796300000000 implements MigrationInterface {
  name = 'OrderFsmPostgresOperations1796300000000';

  async up(runner: QueryRunner): Promise<void> {
    for (const statement of createStatements(POSTGRES_SCHEMA, FSM_TABLES, 'ask')) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS fsm_dead_letter');
    await runner.query('DROP TABLE IF EXISTS fsm_operator_action');
    for (const index of ['idx_fsm_order_updated', 'idx_fsm_order_dims_updated', 'idx_fsm_order_state_dims']) await runner.query(`DROP INDEX IF EXISTS ${index}`);
    await runner.query('ALTER TABLE fsm_order DROP COLUMN IF EXISTS paused_at, DROP COLUMN IF EXISTS pause_reason');
    await runner.query('ALTER TABLE fsm_transition DROP COLUMN IF EXISTS actor, DROP COLUMN IF EXISTS reason');
  }
}

/**
 * The attempts of automatic work that did not end in a transition, for the operator's timeline of
 * an order: the one table, created from the description (CREATE TABLE IF NOT EXISTS), so it runs
 * again without harm and finds nothing to do where an earlier migration already created it.
 */
export class OrderFsmPostgresWorkAttempts1796400000000 implements MigrationInterface {
  name = 'OrderFsmPostgresWorkAttempts1796400000000';

  async up(runner: QueryRunner): Promise<void> {
    for (const statement of createStatements(POSTGRES_SCHEMA, FSM_TABLES.filter((t) => t.name === 'fsm_work_attempt'))) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS fsm_work_attempt');
  }
}

/**
 * Machines that change safely: the machine version of each order and transition, each transition's
 * payload and processor, and the late events table; added where missing (ADD COLUMN IF NOT EXISTS,
 * CREATE TABLE IF NOT EXISTS), so it finds nothing to do on a database created from the description.
 */
export class OrderFsmPostgresMachineVersions1796500000000 implements MigrationInterface {
  name = 'OrderFsmPostgresMachineVersions1796500000000';

  async up(runner: QueryRunner): Promise<void> {
    for (const statement of createStatements(POSTGRES_SCHEMA, FSM_TABLES, 'ask')) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS fsm_late_event');
    await runner.query('ALTER TABLE fsm_order DROP COLUMN IF EXISTS machine_version');
    await runner.query('ALTER TABLE fsm_transition DROP COLUMN IF EXISTS machine_version, DROP COLUMN IF EXISTS payload, DROP COLUMN IF EXISTS processor');
  }
}

/**
 * How many late events were recorded for each order (`fsm_order.late_events`), so that only the
 * orders with some look for consumed request ids in fsm_late_event; added where missing, and counted
 * for the orders that already have late events.
 */
export class OrderFsmPostgresLateEventCount1796600000000 implements MigrationInterface {
  name = 'OrderFsmPostgresLateEventCount1796600000000';

  async up(runner: QueryRunner): Promise<void> {
    const [{ present }] = await runner.query(
      "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'fsm_order' AND column_name = 'late_events') AS present",
    );
    for (const statement of createStatements(POSTGRES_SCHEMA, FSM_TABLES, 'ask')) await runner.query(statement);
    if (!present) {
      await runner.query('UPDATE fsm_order o SET late_events = l.n FROM (SELECT order_id, COUNT(*) AS n FROM fsm_late_event GROUP BY order_id) l WHERE l.order_id = o.id');
    }
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE fsm_order DROP COLUMN IF EXISTS late_events');
  }
}

/**
 * The trace context of each outbox row (`fsm_outbox.trace_context`), which the relay carries on in
 * the message's headers; added where missing (ADD COLUMN IF NOT EXISTS).
 */
export class OrderFsmPostgresTraceContext1796700000000 implements MigrationInterface {
  name = 'OrderFsmPostgresTraceContext1796700000000';

  async up(runner: QueryRunner): Promise<void> {
    for (const statement of createStatements(POSTGRES_SCHEMA, FSM_TABLES.filter((t) => t.name === 'fsm_outbox'), 'ask')) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE fsm_outbox DROP COLUMN IF EXISTS trace_context');
  }
}

/**
 * The relay's claim on an index of the unpublished messages alone (POSTGRES_INDEXES): under a
 * steady load, every published message leaves a dead row version behind until a vacuum, and the
 * claim read through all of them on the (published_at, id) index.
 */
export class OrderFsmPostgresOutboxUnpublished1796800000000 implements MigrationInterface {
  name = 'OrderFsmPostgresOutboxUnpublished1796800000000';

  async up(runner: QueryRunner): Promise<void> {
    for (const statement of POSTGRES_INDEXES) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP INDEX IF EXISTS idx_fsm_outbox_unpublished');
  }
}

/** Every migration of the engine's tables on PostgreSQL, oldest first: list them in your DataSource. */
export const ORDER_FSM_POSTGRES_MIGRATIONS = [
  OrderFsmPostgresSchema1796284000000,
  OrderFsmPostgresOperations1796300000000,
  OrderFsmPostgresWorkAttempts1796400000000,
  OrderFsmPostgresMachineVersions1796500000000,
  OrderFsmPostgresLateEventCount1796600000000,
  OrderFsmPostgresTraceContext1796700000000,
  OrderFsmPostgresOutboxUnpublished1796800000000,
] as const;
