import { randomUUID } from 'node:crypto';
import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { request as httpRequest, Agent } from 'node:http';
import { waitFor } from './support/broker.js';
import { createOrder, sendEvent, uid } from './support/taxi-client.js';
import { sql } from './support/database.js';
import { OrderFsmOps } from '@order-fsm/core/ops';
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

  it('answers writes that arrive as the server closes in its own words (503 DEPENDENCY_UNAVAILABLE, X-Request-Id) and applies none; reads are answered', async () => {
    const t = await startTestApp(quiet, { modules: [CloseGateModule] });
    const gate = t.app.get(CloseGate);
    const orderId = await createOrder(t);
    const passengerId = uid('p');
    const { port } = t.app.getHttpServer().address() as { port: number };
    // Keep-alive connections opened before the shutdown: requests can still arrive on them while the server closes.
    type Answer = { status: number; headers: Record<string, unknown>; body: Record<string, unknown> };
    const connection = () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const send = (method: string, path: string, requestId: string, who: 'client' | 'operator', body?: unknown) =>
        new Promise<Answer>((resolve, reject) => {
          const headers = { 'content-type': 'application/json', 'x-request-id': requestId, authorization: bearer(who) };
          const req = httpRequest({ agent, host: '127.0.0.1', port, method, path, headers }, (res) => {
            let text = '';
            res.on('data', (chunk) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
          });
          req.on('error', reject).end(body === undefined ? undefined : JSON.stringify(body));
        });
      return { agent, send };
    };
    const [events, passengers, pauses, reads] = [connection(), connection(), connection(), connection()];
    for (const c of [events, passengers, pauses, reads]) expect((await c.send('GET', `/orders/${orderId}`, uid('first'), 'operator')).status).toBe(200);

    const closing = t.close();
    await gate.reached;
    const ids = { event: uid('late'), passenger: uid('late'), pause: uid('late'), read: uid('late') };
    let late: Answer[];
    try {
      late = await Promise.all([
        events.send('POST', `/orders/${orderId}/events`, ids.event, 'client', { event: 'CANCEL', requestId: ids.event, payload: { reason: 'late' } }),
        passengers.send('PUT', `/passengers/${passengerId}`, ids.passenger, 'client', { name: 'Late' }),
        pauses.send('POST', `/ops/orders/${orderId}/pause`, ids.pause, 'operator', { reason: 'during shutdown' }),
        reads.send('GET', `/orders/${orderId}`, ids.read, 'client'),
      ]);
    } finally {
      gate.open();
    }
    await closing;
    for (const c of [events, passengers, pauses, reads]) c.agent.destroy();
    const [event, passenger, pause, read] = late;
    for (const [answer, requestId] of [[event, ids.event], [passenger, ids.passenger], [pause, ids.pause]] as const) {
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ statusCode: 503, code: 'DEPENDENCY_UNAVAILABLE' });
      expect(answer.headers).toMatchObject({ 'x-request-id': requestId, 'x-content-type-options': 'nosniff', connection: 'close' });
    }
    expect([read.status, read.body.state]).toEqual([200, 'CREATED']);
    // Nothing was applied: no transition, no pause, no passenger.
    const again = await startTestApp(quiet);
    try {
      expect(await again.engine.findOrder(orderId)).toMatchObject({ state: 'CREATED', version: 1 });
      expect((await again.http('operator').get(`/ops/orders/${orderId}`).expect(200)).body.order.paused).toBeFalsy();
      expect(await sql(again.dataSource, 'SELECT id FROM taxi_passenger WHERE id = ?', [passengerId])).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it('refuses writes of the operator API once shutdown has begun, while an event drains: pause, resume, migrate, discard', async () => {
    const t = await startTestApp({ ...quiet, shutdownTimeoutMs: 10_000 }, withTestProcessors);
    const gate = t.app.get(Gate);
    const orderId = await createOrder(t);
    const other = await createOrder(t);
    const reached = gate.arm();
    // then(): a supertest request starts when it is awaited.
    const slow = sendEvent(t, orderId, 'TEST_SLOW').then((r) => r);
    await reached;
    const closing = t.close();
    await waitFor('the engine to refuse new events', async () => t.engine.isClosing, 10_000, 10);
    const ops = t.app.get(OrderFsmOps);
    const operator = { name: 'ops-1', role: 'operator' };
    const codeOf = (act: Promise<unknown>) => act.then(() => 'done', (error: { code?: string }) => error.code);
    let codes: unknown[];
    try {
      codes = [
        await codeOf(ops.pause(operator, other, { reason: 'late' })),
        await codeOf(ops.resume(operator, other, { reason: 'late' })),
        await codeOf(ops.migrate(operator, other, { reason: 'late' })),
        await codeOf(ops.discard(operator, 1, 'late')),
      ];
    } finally {
      gate.open();
    }
    expect(codes).toEqual(['DEPENDENCY_UNAVAILABLE', 'DEPENDENCY_UNAVAILABLE', 'DEPENDENCY_UNAVAILABLE', 'DEPENDENCY_UNAVAILABLE']);
    expect((await slow).status).toBe(200);
    await closing;
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
