import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Columns this migration adds, by table: name and definition. */
const COLUMNS: ReadonlyArray<readonly [table: string, column: string, definition: string]> = [
  // Every order of an earlier release was created under the machine's first version.
  ['fsm_order', 'machine_version', 'INT UNSIGNED NOT NULL DEFAULT 1'],
  // Instant in MariaDB 10.3+ and MySQL 8 (columns added last, nullable or with a constant default).
  ['fsm_transition', 'machine_version', 'INT UNSIGNED NOT NULL DEFAULT 1'],
  ['fsm_transition', 'payload', 'MEDIUMTEXT NULL'],
  ['fsm_transition', 'processor', 'VARCHAR(64) NULL'],
];

/**
 * Machines that change safely: the version of the machine each order follows, the machine version,
 * payload and processor of each transition (what a shadow replay sends again), and the late events
 * the machine's policies ignored, held or compensated. Runs again safely: each column is added only
 * if it is missing, the table only if it is not there.
 */
export class OrderFsmMachineVersions1796500000000 implements MigrationInterface {
  name = 'OrderFsmMachineVersions1796500000000';

  async up(runner: QueryRunner): Promise<void> {
    for (const [table, column, definition] of COLUMNS) {
      if (!(await runner.hasColumn(table, column))) await runner.query(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
    await runner.query(`
      CREATE TABLE IF NOT EXISTS fsm_late_event (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        order_id VARCHAR(64) NOT NULL,
        version INT UNSIGNED NOT NULL,
        state VARCHAR(64) NOT NULL,
        event VARCHAR(64) NOT NULL,
        request_id VARCHAR(64) NOT NULL,
        caller VARCHAR(64) NOT NULL,
        caller_role VARCHAR(64) NOT NULL DEFAULT '',
        source VARCHAR(16) NOT NULL,
        request_hash CHAR(64) NOT NULL,
        payload MEDIUMTEXT NULL,
        policy VARCHAR(16) NOT NULL,
        status VARCHAR(16) NOT NULL,
        response MEDIUMTEXT NOT NULL,
        deadline DATETIME(3) NULL,
        next_check_at DATETIME(3) NULL,
        settled_at DATETIME(3) NULL,
        outcome VARCHAR(512) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_fsm_late_event_request (request_id, caller),
        KEY idx_fsm_late_event_order (order_id, status),
        KEY idx_fsm_late_event_due (status, next_check_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS fsm_late_event');
    for (const [table, column] of [...COLUMNS].reverse()) {
      if (await runner.hasColumn(table, column)) await runner.query(`ALTER TABLE ${table} DROP COLUMN ${column}`);
    }
  }
}
