import { randomUUID } from 'node:crypto';
import { waitFor } from './support/broker.js';
import { createOrder, sendEvent } from './support/taxi-client.js';
import { startTestApp } from './support/test-app.js';
import { Gate, testMachine, TestProcessorsModule } from './support/test-processors.js';
import { asCaller } from './support/callers.js';

const withTestProcessors = { modules: [TestProcessorsModule], machine: testMachine };
const quiet = { relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false };

describe('graceful shutdown', () => {
  it('lets the event in flight finish and commit, and refuses new ones with a 503 meanwhile', async () => {
    const t = await startTestApp({ ...quiet, shutdownTimeoutMs: 10_000 }, withTestProcessors);
    const gate = t.app.get(Gate);
    const orderId = await createOrder(t);
    const reached = gate.arm();
    const slow = sendEvent(t, orderId, 'TEST_SLOW').then((r) => r);
    await reached;

    const closing = t.close();
    // Shutdown has begun once the engine refuses new events: until then an event for an order that
    // does not exist is answered ORDER_NOT_FOUND.
    await waitFor(
      'the engine to refuse new events',
      () =>
        t.engine.sendEvent({ eventType: 'CANCEL', orderId: `missing-${randomUUID()}`, requestId: randomUUID(), caller: asCaller('client') }).then(
          () => false,
          (error: { code?: string }) => error.code === 'DEPENDENCY_UNAVAILABLE',
        ),
      10_000,
      10,
    );
    await expect(t.engine.sendEvent({ eventType: 'CANCEL', orderId, requestId: 'after-sigterm', caller: asCaller('client') })).rejects.toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
    });
    gate.open();
    const response = await slow;
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ toState: 'ACCEPTED', version: 2 });
    await closing;

    // Committed before the connections closed: a fresh instance reads it.
    const again = await startTestApp(quiet, withTestProcessors);
    try {
      expect(await again.engine.findOrder(orderId)).toMatchObject({ state: 'ACCEPTED', version: 2, data: { slow: true } });
    } finally {
      await again.close();
    }
  });

  it('stops waiting after shutdownTimeoutMs: close is bounded, and the stuck event writes nothing', async () => {
    const t = await startTestApp({ ...quiet, shutdownTimeoutMs: 300 }, withTestProcessors);
    const gate = t.app.get(Gate);
    const orderId = await createOrder(t);
    const reached = gate.arm();
    const stuck = t.engine.sendEvent({ eventType: 'TEST_SLOW', orderId, requestId: 'stuck', caller: asCaller('client') }).catch((error: unknown) => error);
    await reached;
    const started = Date.now();
    await t.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    gate.open();
    expect(await stuck).toBeInstanceOf(Error);

    const again = await startTestApp(quiet, withTestProcessors);
    try {
      expect(await again.engine.findOrder(orderId)).toMatchObject({ state: 'CREATED', version: 1 });
    } finally {
      await again.close();
    }
  });
});
