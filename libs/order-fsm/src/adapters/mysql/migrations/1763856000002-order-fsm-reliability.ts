import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exactly-once requests (the request's hash and response with the transition that consumed it),
 * the transactional outbox, durable timers, and what the sweeper and the worker need on the order.
 */
export class OrderFsmReliability1763856000002 implements MigrationInterface {
  name = 'OrderFsmReliability1763856000002';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE fsm_transition
        ADD COLUMN request_hash CHAR(64) NOT NULL DEFAULT '',
        ADD COLUMN response MEDIUMTEXT NULL`);
    await runner.query(`
      ALTER TABLE fsm_order
        ADD COLUMN auto_due_at DATETIME(3) NULL,
        ADD COLUMN flagged_at DATETIME(3) NULL,
        ADD COLUMN flag_reason VARCHAR(512) NULL,
        ADD KEY idx_fsm_order_auto_due (auto_due_at)`);
    await runner.query(`
      CREATE TABLE fsm_outbox (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        message_id VARCHAR(160) NOT NULL,
        order_id VARCHAR(64) NOT NULL,
        version INT UNSIGNED NOT NULL,
        kind VARCHAR(16) NOT NULL,
        routing_key VARCHAR(255) NOT NULL,
        payload MEDIUMTEXT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        published_at DATETIME(3) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_fsm_outbox_message (message_id),
        KEY idx_fsm_outbox_pending (published_at, id),
        KEY idx_fsm_outbox_order (order_id, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await runner.query(`
      CREATE TABLE fsm_timer (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        order_id VARCHAR(64) NOT NULL,
        version INT UNSIGNED NOT NULL,
        state VARCHAR(64) NOT NULL,
        event VARCHAR(64) NOT NULL,
        fire_at DATETIME(3) NOT NULL,
        fired_at DATETIME(3) NULL,
        outcome VARCHAR(64) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY idx_fsm_timer_due (fired_at, fire_at),
        KEY idx_fsm_timer_order (order_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE fsm_timer');
    await runner.query('DROP TABLE fsm_outbox');
    await runner.query('ALTER TABLE fsm_order DROP KEY idx_fsm_order_auto_due, DROP COLUMN flag_reason, DROP COLUMN flagged_at, DROP COLUMN auto_due_at');
    await runner.query('ALTER TABLE fsm_transition DROP COLUMN response, DROP COLUMN request_hash');
  }
}
