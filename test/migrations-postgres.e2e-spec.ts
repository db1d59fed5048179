import { OrderFsmPostgresSchema1796284000000 } from '@order-fsm/core/postgres';
import { callerName } from './support/callers.js';
import { sql } from './support/database.js';
import { createOrder } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

// PostgreSQL's own (the e2e-postgres project only): order-fsm's tables on PostgreSQL come from one migration of their own.
describe("the migration of order-fsm's tables (PostgreSQL)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ workerEnabled: false, timersEnabled: false, sweeperEnabled: false, relayEnabled: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs again without harm on tables that hold orders, as after ensureSchema() made them', async () => {
    const orderId = await createOrder(t);
    const runner = t.dataSource.createQueryRunner();
    try {
      await new OrderFsmPostgresSchema1796284000000().up(runner);
    } finally {
      await runner.release();
    }
    expect(await sql(t.dataSource, 'SELECT version, caller FROM fsm_transition WHERE order_id = ? ORDER BY version', [orderId])).toEqual([
      { version: 1, caller: callerName('client') },
    ]);
    expect((await t.engine.findOrder(orderId))?.state).toBe('CREATED');
  });
});
