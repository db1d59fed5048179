import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How many late events were recorded for each order (`fsm_order.late_events`): an order's load looks
 * for a consumed request id in fsm_late_event only when it has some, so the orders that never had a
 * late event pay nothing for them. Runs again safely: the column is added only if it is missing.
 */
export class OrderFsmLateEventCount1796600000000 implements MigrationInterface {
  name = 'OrderFsmLateEventCount1796600000000';

  async up(runner: QueryRunner): Promise<void> {
    if (!(await runner.hasColumn('fsm_order', 'late_events'))) {
      await runner.query('ALTER TABLE fsm_order ADD COLUMN late_events INT UNSIGNED NOT NULL DEFAULT 0');
      // Orders that already have late events (recorded before the count) are counted.
      await runner.query('UPDATE fsm_order o JOIN (SELECT order_id, COUNT(*) AS n FROM fsm_late_event GROUP BY order_id) l ON l.order_id = o.id SET o.late_events = l.n');
    }
  }

  async down(runner: QueryRunner): Promise<void> {
    if (await runner.hasColumn('fsm_order', 'late_events')) await runner.query('ALTER TABLE fsm_order DROP COLUMN late_events');
  }
}
