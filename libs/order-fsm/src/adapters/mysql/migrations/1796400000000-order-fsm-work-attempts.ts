import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The attempts of automatic work that did not end in a transition (a retry, a wait, a dead letter,
 * an order that moved on or was paused), for the operator's timeline of an order. A table of its
 * own and nothing else: runs again safely (CREATE TABLE IF NOT EXISTS) and reverts by dropping it.
 */
export class OrderFsmWorkAttempts1796400000000 implements MigrationInterface {
  name = 'OrderFsmWorkAttempts1796400000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE IF NOT EXISTS fsm_work_attempt (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        order_id VARCHAR(64) NOT NULL,
        version INT UNSIGNED NOT NULL,
        state VARCHAR(64) NOT NULL,
        event VARCHAR(64) NOT NULL,
        attempt INT UNSIGNED NOT NULL,
        outcome VARCHAR(16) NOT NULL,
        error_code VARCHAR(64) NOT NULL,
        message VARCHAR(512) NOT NULL,
        retry_at DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY idx_fsm_work_attempt_order (order_id, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS fsm_work_attempt');
  }
}
