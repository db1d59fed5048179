import { randomUUID } from 'node:crypto';
import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { request as httpRequest, Agent } from 'node:http';
import { waitFor } from './support/broker.js';
import { createOrder, sendEvent } from './support/taxi-client.js';
import { startTestApp } from './support/test-app.js';
import { Gate, testMachine, TestProcessorsModule } from './support/test-processors.js';
import { asCaller, bearer } from './support/callers.js';

const withTestProcessors = { modules: [TestProcessorsModule], machine: testMachine };

/** Holds the HTTP server in its closing phase (Fastify's preClose: after the engine drained, before the server stops) until opened. */
@Injectable()
class CloseGate implements OnModuleInit {
  reached!: Promise<void>;
  private reach!: () => void;
  private held!: Promise<void>;
  open!: () => void;

  constructor(private readonly host: HttpAdapterHost) {
    this.reached = new Promise((resolve) => (this.reach = resolve));
    this.held = new Promise((resolve) => (this.open = resolve));
  }

  onModuleInit(): void {
    this.host.httpAdapter.getInstance().addHook('preClose', async () => {
      this.reach();
      await this.held;
    });
  }
}
@Module({ providers: [CloseGate] })
class CloseGateModule {}
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

  it('answers a request that arrives as the server closes in its own words: 503 DEPENDENCY_UNAVAILABLE, its X-Request-Id and headers', async () => {
    const t = await startTestApp(quiet, { modules: [CloseGateModule] });
    const gate = t.app.get(CloseGate);
    const orderId = await createOrder(t);
    const { port } = t.app.getHttpServer().address() as { port: number };
    // One keep-alive connection, opened before the shutdown: a request can still arrive on it while the server closes.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: 'GET' | 'POST', requestId: string) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }>((resolve, reject) => {
        const headers = { 'content-type': 'application/json', 'x-request-id': requestId, authorization: bearer('client') };
        const path = method === 'GET' ? `/orders/${orderId}` : `/orders/${orderId}/events`;
        const req = httpRequest({ agent, host: '127.0.0.1', port, method, path, headers }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
        });
        req.on('error', reject).end(method === 'POST' ? JSON.stringify({ event: 'CANCEL', requestId, payload: { reason: 'late' } }) : undefined);
      });
    expect((await send('GET', `first-${randomUUID()}`.slice(0, 36))).status).toBe(200);
    const closing = t.close();
    await gate.reached;
    const requestId = `late-${randomUUID()}`.slice(0, 36);
    const late = await send('POST', requestId).finally(() => gate.open());
    await closing;
    agent.destroy();
    expect(late.status).toBe(503);
    expect(late.body).toMatchObject({ statusCode: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    expect(late.headers).toMatchObject({ 'x-request-id': requestId, 'x-content-type-options': 'nosniff', connection: 'close' });
    // Nothing was applied.
    const again = await startTestApp(quiet);
    try {
      expect(await again.engine.findOrder(orderId)).toMatchObject({ state: 'CREATED', version: 1 });
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
