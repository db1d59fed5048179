import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Columns this migration adds, by table: name and definition. */
const COLUMNS: ReadonlyArray<readonly [table: string, column: string, definition: string]> = [
  ['fsm_order', 'paused_at', 'DATETIME(3) NULL'],
  ['fsm_order', 'pause_reason', 'VARCHAR(512) NULL'],
  // Instant in MariaDB 10.3+ and MySQL 8 (a column added last, with a constant default): a long log is not rebuilt.
  ['fsm_transition', 'actor', "VARCHAR(64) NOT NULL DEFAULT ''"],
  ['fsm_transition', 'reason', 'VARCHAR(512) NULL'],
];

const INDEXES: ReadonlyArray<readonly [table: string, index: string, columns: string]> = [
  ['fsm_order', 'idx_fsm_order_updated', 'updated_at, id'],
  ['fsm_order', 'idx_fsm_order_dims_updated', 'biz_code, scene_id, updated_at, id'],
  ['fsm_order', 'idx_fsm_order_state_dims', 'state, biz_code, scene_id'],
];

/**
 * What operators need: orders can be paused, the log says who acted and why, operators' acts are
 * audited, dead-lettered work is kept to redrive or discard, and indexes back the operator's list
 * (newest first, by keyset) and the fleet's counts. Runs again safely: each column and index is
 * added only if it is missing (DDL commits on its own, so a run that stopped half way starts again).
 */
export class OrderFsmOperations1796300000000 implements MigrationInterface {
  name = 'OrderFsmOperations1796300000000';

  async up(runner: QueryRunner): Promise<void> {
    for (const [table, column, definition] of COLUMNS) {
      if (!(await runner.hasColumn(table, column))) await runner.query(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
    for (const [table, index, columns] of INDEXES) {
      if (!(await hasIndex(runner, table, index))) await runner.query(`ALTER TABLE ${table} ADD KEY ${index} (${columns})`);
    }
    await runner.query(`
      CREATE TABLE IF NOT EXISTS fsm_operator_action (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        order_id VARCHAR(64) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        actor VARCHAR(64) NOT NULL,
        reason VARCHAR(512) NOT NULL,
        detail MEDIUMTEXT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY idx_fsm_operator_action_order (order_id, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await runner.query(`
      CREATE TABLE IF NOT EXISTS fsm_dead_letter (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        message_id VARCHAR(160) NOT NULL,
        order_id VARCHAR(64) NOT NULL,
        version INT UNSIGNED NOT NULL,
        state VARCHAR(64) NOT NULL,
        event VARCHAR(64) NOT NULL,
        reason VARCHAR(512) NOT NULL,
        attempts INT UNSIGNED NOT NULL,
        created_at DATETIME(3) NOT NULL,
        status VARCHAR(16) NOT NULL,
        settled_at DATETIME(3) NULL,
        settled_by VARCHAR(64) NULL,
        settle_reason VARCHAR(512) NULL,
        outcome VARCHAR(512) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_fsm_dead_letter_message (message_id),
        KEY idx_fsm_dead_letter_status (status, id),
        KEY idx_fsm_dead_letter_order (order_id, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS fsm_dead_letter');
    await runner.query('DROP TABLE IF EXISTS fsm_operator_action');
    for (const [table, index] of INDEXES) if (await hasIndex(runner, table, index)) await runner.query(`ALTER TABLE ${table} DROP KEY ${index}`);
    for (const [table, column] of [...COLUMNS].reverse()) if (await runner.hasColumn(table, column)) await runner.query(`ALTER TABLE ${table} DROP COLUMN ${column}`);
  }
}

async function hasIndex(runner: QueryRunner, table: string, index: string): Promise<boolean> {
  const rows: unknown[] = await runner.query(
    'SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ? LIMIT 1',
    [table, index],
  );
  return rows.length > 0;
}
