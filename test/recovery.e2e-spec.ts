import { deleteTopology, uniquePrefix, waitFor } from './support/broker.js';
import { DATABASE_NAME } from './support/database.js';
import { restartDatabase, restartRedis } from './support/services.js';
import { advance, createOrder, sendEvent } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/** The same instance, without a restart, serves again within seconds of the dependency's return. */
async function servesAgain(t: TestApp): Promise<number> {
  const back = Date.now();
  await waitFor('the service to recover', async () => (await t.http('operator').get('/health/ready')).status === 200, 30_000);
  const orderId = await createOrder(t);
  await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
  return Date.now() - back;
}

describe('dependencies drop and come back while the service runs', () => {
  const prefix = uniquePrefix('recovery');
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ amqpPrefix: prefix });
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  it('Redis: clean 503s while it is down, then service again by itself', async () => {
    const orderId = await createOrder(t);
    await restartRedis(async () => {
      const started = Date.now();
      const response = await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' });
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', details: { dependency: 'redis' } });
      expect(Date.now() - started).toBeLessThan(3_000);
    });
    const recoveredMs = await servesAgain(t);
    expect(recoveredMs).toBeLessThan(15_000);
    // The order the outage left alone is untouched and moves on now.
    await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
  });

  it(`${DATABASE_NAME}: clean 503s while it is down, then service again by itself`, async () => {
    const orderId = await createOrder(t);
    await restartDatabase(async () => {
      const started = Date.now();
      const response = await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' });
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', details: { dependency: 'database' } });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await t.http('operator').get('/health/ready')).status).toBe(503);
    });
    const recoveredMs = await servesAgain(t);
    expect(recoveredMs).toBeLessThan(15_000);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
  });
});
