import { OrderFsmCallers1764720000000 } from '@order-fsm/core/mysql';
import { callerName } from './support/callers.js';
import { createOrder, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

// MariaDB's own (the e2e project only): order-fsm's tables on MariaDB come from its MySQL migrations, this one among them.
describe('the migration to request ids per caller (MariaDB)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ workerEnabled: false, timersEnabled: false, sweeperEnabled: false, relayEnabled: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs again without harm, and puts the engine rows it finds under no caller into @system', async () => {
    const orderId = await createOrder(t);
    // A worker's row as a log written before callers has it.
    await t.dataSource.query(
      "INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, caller, source, created_at, request_hash) VALUES (?, 99, 'OLD', 'A', 'B', ?, '', 'worker', NOW(3), 'h')",
      [orderId, uid('auto')],
    );
    const runner = t.dataSource.createQueryRunner();
    try {
      await new OrderFsmCallers1764720000000().up(runner);
    } finally {
      await runner.release();
    }
    expect(await t.dataSource.query('SELECT version, caller FROM fsm_transition WHERE order_id = ? ORDER BY version', [orderId])).toEqual([
      { version: 1, caller: callerName('client') },
      { version: 99, caller: '@system' },
    ]);
  });
});

