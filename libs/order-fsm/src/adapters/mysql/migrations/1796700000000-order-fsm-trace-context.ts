import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The trace context of each outbox row (`fsm_outbox.trace_context`): the relay publishes the row
 * later, maybe in another process, and carries the trace of the transaction that wrote it on in the
 * message's headers. NULL for a row written untraced. Runs again safely: added only if it is missing.
 */
export class OrderFsmTraceContext1796700000000 implements MigrationInterface {
  name = 'OrderFsmTraceContext1796700000000';

  async up(runner: QueryRunner): Promise<void> {
    if (!(await runner.hasColumn('fsm_outbox', 'trace_context'))) await runner.query('ALTER TABLE fsm_outbox ADD COLUMN trace_context MEDIUMTEXT NULL');
  }

  async down(runner: QueryRunner): Promise<void> {
    if (await runner.hasColumn('fsm_outbox', 'trace_context')) await runner.query('ALTER TABLE fsm_outbox DROP COLUMN trace_context');
  }
}
