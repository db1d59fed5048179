import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The taxi service's own tables: passengers and payments. */
export class TaxiSchema1763856000001 implements MigrationInterface {
  name = 'TaxiSchema1763856000001';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE taxi_passenger (
        id VARCHAR(64) NOT NULL,
        name VARCHAR(128) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await runner.query(`
      CREATE TABLE taxi_payment (
        id VARCHAR(64) NOT NULL,
        order_id VARCHAR(64) NOT NULL,
        kind VARCHAR(32) NOT NULL,
        amount_cents INT UNSIGNED NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY idx_taxi_payment_order (order_id),
        CONSTRAINT fk_taxi_payment_order FOREIGN KEY (order_id) REFERENCES fsm_order (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE taxi_payment');
    await runner.query('DROP TABLE taxi_passenger');
  }
}
