import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The engine's tables: the orders it moves and the log of every transition. */
export class OrderFsmSchema1763856000000 implements MigrationInterface {
  name = 'OrderFsmSchema1763856000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE fsm_order (
        id VARCHAR(64) NOT NULL,
        biz_code VARCHAR(64) NOT NULL,
        scene_id VARCHAR(64) NOT NULL,
        state VARCHAR(64) NOT NULL,
        version INT UNSIGNED NOT NULL,
        data JSON NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY idx_fsm_order_state_updated (state, updated_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await runner.query(`
      CREATE TABLE fsm_transition (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        order_id VARCHAR(64) NOT NULL,
        version INT UNSIGNED NOT NULL,
        event VARCHAR(64) NOT NULL,
        from_state VARCHAR(64) NOT NULL,
        to_state VARCHAR(64) NOT NULL,
        request_id VARCHAR(64) NOT NULL,
        source VARCHAR(16) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_fsm_transition_order_version (order_id, version),
        UNIQUE KEY uq_fsm_transition_request (request_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE fsm_transition');
    await runner.query('DROP TABLE fsm_order');
  }
}
