import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Request ids belong to their caller: the transition log records who sent each transition, and a
 * request id is unique per caller rather than across all of them. The engine's own transitions
 * (worker, timers, sweeper) move into the `@system` namespace, which no caller can have.
 */
const BATCH = 10_000;

export class OrderFsmCallers1764720000000 implements MigrationInterface {
  name = 'OrderFsmCallers1764720000000';

  async up(runner: QueryRunner): Promise<void> {
    // DDL commits on its own: if the backfill below failed, running the migration again starts here.
    if (!(await runner.hasColumn('fsm_transition', 'caller'))) {
      await runner.query(`
        ALTER TABLE fsm_transition
          ADD COLUMN caller VARCHAR(64) NOT NULL DEFAULT '' AFTER request_id,
          DROP KEY uq_fsm_transition_request,
          ADD UNIQUE KEY uq_fsm_transition_request (request_id, caller)`);
    }
    // In batches along the primary key: a large log is never locked in one statement.
    const [{ last }] = await runner.query('SELECT COALESCE(MAX(id), 0) AS last FROM fsm_transition');
    for (let from = 0; from < Number(last); from += BATCH) {
      await runner.query(
        `UPDATE fsm_transition SET caller = '@system' WHERE id > ? AND id <= ? AND caller = '' AND source IN ('worker', 'timer', 'sweeper')`,
        [from, from + BATCH],
      );
    }
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE fsm_transition
        DROP KEY uq_fsm_transition_request,
        ADD UNIQUE KEY uq_fsm_transition_request (request_id),
        DROP COLUMN caller`);
  }
}
