import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The taxi service's own tables on PostgreSQL: passengers and payments, as the MySQL migration
 * TaxiSchema1763856000001 makes them, in PostgreSQL's types (times in `timestamptz(3)`, like
 * order-fsm's). Dated after order-fsm's OrderFsmPostgresSchema1796284000000, which makes fsm_order,
 * the table these refer to: TypeORM runs migrations in the order of their timestamps.
 */
export class TaxiSchemaPostgres1796284000001 implements MigrationInterface {
  name = 'TaxiSchemaPostgres1796284000001';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE taxi_passenger (
        id VARCHAR(64) NOT NULL,
        name VARCHAR(128) NOT NULL,
        created_at TIMESTAMPTZ(3) NOT NULL,
        CONSTRAINT taxi_passenger_pkey PRIMARY KEY (id))`);
    await runner.query(`
      CREATE TABLE taxi_payment (
        id VARCHAR(64) NOT NULL,
        order_id VARCHAR(64) NOT NULL,
        kind VARCHAR(32) NOT NULL,
        amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
        created_at TIMESTAMPTZ(3) NOT NULL,
        CONSTRAINT taxi_payment_pkey PRIMARY KEY (id),
        CONSTRAINT fk_taxi_payment_order FOREIGN KEY (order_id) REFERENCES fsm_order (id))`);
    await runner.query('CREATE INDEX idx_taxi_payment_order ON taxi_payment (order_id)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE taxi_payment');
    await runner.query('DROP TABLE taxi_passenger');
  }
}
