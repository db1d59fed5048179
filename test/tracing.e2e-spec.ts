import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { StatusMessage } from '@order-fsm/core';
import type { StartedTracing } from '../apps/order-service/src/tracing/tracing-sdk.js';
import type { TracingConfig } from '../apps/order-service/src/tracing/tracing-config.js';
import { auditQueue, queueMessages, uniquePrefix, waitFor } from './support/broker.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { openDatabase, sql } from './support/database.js';
import type { TestApp } from './support/test-app.js';

/**
 * Tracing against the real service: MariaDB or PostgreSQL, Redis, RabbitMQ and the HTTP server, the
 * spans collected in memory. An ENTERPRISE order finishes on its own (FEE_CONFIRMED -> PAID -> CLOSED
 * by the worker), so one REST event is followed by the relay's publishes and the worker's transitions.
 */

const ON: TracingConfig = { exporters: [], sampler: 'parentbased_always_on', samplerRatio: 1, propagators: ['tracecontext', 'baggage'] };

const traceparentOf = (traceId: string, spanId: string) => new RegExp(`^00-${traceId}-${spanId}-0[01]$`);

async function statusMessages(queue: string, orderId: string) {
  return (await queueMessages(queue)).filter((m) => (m.body as StatusMessage).orderId === orderId) as Array<{ body: StatusMessage; headers: Record<string, unknown> }>;
}

async function appWith(prefix: string, tracing: TracingConfig | undefined): Promise<{ t: TestApp; taxi: typeof import('./support/taxi-client.js') }> {
  // Loaded after the SDK started, as main.ts loads the application: Fastify requires `http` after the instrumentation hooked it.
  const [{ startTestApp }, taxi] = await Promise.all([import('./support/test-app.js'), import('./support/taxi-client.js')]);
  return { t: await startTestApp({ amqpPrefix: prefix, tracing }), taxi };
}

describe('tracing on (OTEL_* set)', () => {
  const prefix = uniquePrefix('tracing');
  const memory = new InMemorySpanExporter();
  let started: StartedTracing;
  let t: TestApp;
  let taxi: typeof import('./support/taxi-client.js');
  let audit: Awaited<ReturnType<typeof auditQueue>>;

  beforeAll(async () => {
    const { startTracing } = await import('../apps/order-service/src/tracing/tracing-sdk.js');
    started = startTracing(ON, { spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
    audit = await auditQueue(prefix);
    ({ t, taxi } = await appWith(prefix, ON));
  });
  afterAll(async () => {
    await t?.close();
    await started?.shutdown();
    await audit?.remove();
  });

  const spans = () => memory.getFinishedSpans();
  const named = (name: string, attributes: Record<string, unknown> = {}) =>
    spans().filter((s) => s.name === name && Object.entries(attributes).every(([k, v]) => s.attributes[k] === v));
  const childrenOf = (parent: ReadableSpan) => spans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

  // The HTTP server's span is the service process's (below): Jest loads Fastify through a module
  // registry of its own, which the HTTP instrumentation's require hook never sees.
  it('one REST event: its sendEvent span holds the lock wait, the template steps and the commit', async () => {
    const orderId = await taxi.createOrder(t, { bizCode: 'EXPRESS', sceneId: 'APP' });
    await taxi.advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    const accept = await waitFor('the ACCEPT span', async () => named('order-fsm.send_event', { 'order_fsm.order_id': orderId, 'order_fsm.event': 'ACCEPT' })[0], 10_000);
    expect(accept.attributes).toMatchObject({ 'order_fsm.source': 'api', 'order_fsm.caller': 'test-client', 'order_fsm.outcome': 'applied', 'order_fsm.from_state': 'CREATED', 'order_fsm.to_state': 'ACCEPTED', 'order_fsm.version': 2 });
    expect(accept.attributes['order_fsm.processor']).toEqual(expect.any(String));

    const children = childrenOf(accept).map((s) => s.name);
    expect(children).toEqual(expect.arrayContaining(['order-fsm.lock_wait', 'order-fsm.prepare', 'order-fsm.action', 'order-fsm.commit']));
    // In the order they ran: the lock first, the commit last.
    const ordered = childrenOf(accept).sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    expect(ordered[0]!.name).toBe('order-fsm.lock_wait');
    expect(ordered.at(-1)!.name).toBe('order-fsm.commit');
    // The create ran its checkers too: each step of the template that had something to run.
    const create = named('order-fsm.send_event', { 'order_fsm.order_id': orderId, 'order_fsm.event': 'CREATE' })[0]!;
    expect(childrenOf(create).map((s) => s.name)).toEqual(expect.arrayContaining(['order-fsm.param_check', 'order-fsm.prepare', 'order-fsm.action', 'order-fsm.commit']));
  });

  it('the relay publishes in the trace of the transaction that wrote the row, and the status message carries that trace on', async () => {
    const orderId = await taxi.createOrder(t, { bizCode: 'EXPRESS', sceneId: 'APP' });
    await taxi.advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    const accept = named('order-fsm.send_event', { 'order_fsm.order_id': orderId, 'order_fsm.event': 'ACCEPT' })[0]!;
    const traceId = accept.spanContext().traceId;
    const publish = await waitFor('the publish of ACCEPT', async () => named('order-fsm.publish', { 'messaging.message.id': `${orderId}:2` })[0], 10_000);
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(publish.spanContext().traceId).toBe(traceId);
    expect(publish.parentSpanContext?.spanId).toBe(accept.spanContext().spanId);

    // The row kept the context (the sendEvent span's) until the relay read it.
    const [row] = await sql(t.dataSource, 'SELECT trace_context FROM fsm_outbox WHERE message_id = ?', [`${orderId}:2`]);
    expect(JSON.parse(row!.trace_context).traceparent).toMatch(traceparentOf(traceId, accept.spanContext().spanId));

    const message = await waitFor('the ACCEPTED status message', async () => (await statusMessages(`${prefix}.audit`, orderId)).find((m) => m.body.version === 2), 10_000);
    expect(message.headers.traceparent).toMatch(traceparentOf(traceId, publish.spanContext().spanId));
  });

  it("a worker's transition continues the trace of the REST event that queued its work, and so does the next one", async () => {
    const orderId = await taxi.createOrder(t, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' });
    // Through CONFIRM_FEE: the REST event whose trace the worker's transitions continue.
    for (const [event, payload] of taxi.TO_FEE_CONFIRMED) await taxi.advance(t, orderId, event, payload);
    const confirm = named('order-fsm.send_event', { 'order_fsm.order_id': orderId, 'order_fsm.event': 'CONFIRM_FEE' })[0]!;
    const traceId = confirm.spanContext().traceId;

    // FEE_CONFIRMED -> PAID -> CLOSED, each by the worker, nobody calling.
    const close = await waitFor('the worker CLOSE span', async () => named('order-fsm.send_event', { 'order_fsm.order_id': orderId, 'order_fsm.event': 'CLOSE', 'order_fsm.outcome': 'applied' })[0], 30_000);
    const autoPay = named('order-fsm.send_event', { 'order_fsm.order_id': orderId, 'order_fsm.event': 'AUTO_PAY', 'order_fsm.outcome': 'applied' })[0]!;
    for (const span of [autoPay, close]) {
      expect(span.spanContext().traceId).toBe(traceId);
      expect(span.attributes['order_fsm.source']).toBe('worker');
      // Its parent: the delivery's span, whose parent is the publish of the work message.
      const work = spans().find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId)!;
      expect(work).toMatchObject({ name: 'order-fsm.work', kind: SpanKind.CONSUMER });
      expect(work.attributes).toMatchObject({ 'order_fsm.order_id': orderId, 'order_fsm.verdict': 'done', 'order_fsm.attempt': 1 });
      const published = spans().find((s) => s.spanContext().spanId === work.parentSpanContext?.spanId)!;
      expect(published).toMatchObject({ name: 'order-fsm.publish', attributes: expect.objectContaining({ 'order_fsm.message.kind': 'work' }) });
    }
    // The work of PAID was published from AUTO_PAY's transaction.
    const closeWork = spans().find((s) => s.spanContext().spanId === close.parentSpanContext?.spanId)!;
    const closePublish = spans().find((s) => s.spanContext().spanId === closeWork.parentSpanContext?.spanId)!;
    expect(closePublish.parentSpanContext?.spanId).toBe(autoPay.spanContext().spanId);

    // Every status message of the ride after CONFIRM_FEE carries the one trace.
    const messages = await waitFor('the CLOSED status message', async () => {
      const all = await statusMessages(`${prefix}.audit`, orderId);
      return all.some((m) => m.body.toState === 'CLOSED') && all;
    });
    const after = messages.filter((m) => m.body.version >= 6);
    expect(after.map((m) => m.body.toState)).toEqual(['FEE_CONFIRMED', 'PAID', 'CLOSED']);
    for (const m of after) expect(String(m.headers.traceparent).split('-')[1]).toBe(traceId);
  });
});

describe('tracing off (no OTEL_* variable)', () => {
  const prefix = uniquePrefix('untraced');
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  let t: TestApp;
  let taxi: typeof import('./support/taxi-client.js');
  let audit: Awaited<ReturnType<typeof auditQueue>>;

  beforeAll(async () => {
    // Even with a tracer provider registered in the process (another library's, say), a service that
    // was not asked to trace makes no span and stores no trace context.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    audit = await auditQueue(prefix);
    ({ t, taxi } = await appWith(prefix, undefined));
  });
  afterAll(async () => {
    await t?.close();
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
    await audit?.remove();
  });

  it('records no span, stores no trace context, sends no traceparent, and the ride finishes as ever', async () => {
    expect(t.config.tracing).toBeUndefined();
    const orderId = await taxi.createOrder(t, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' });
    // Through CONFIRM_FEE, then the worker: AUTO_PAY and CLOSE.
    for (const [event, payload] of taxi.TO_FEE_CONFIRMED) await taxi.advance(t, orderId, event, payload);
    const messages = await waitFor('the CLOSED status message', async () => {
      const all = await statusMessages(`${prefix}.audit`, orderId);
      return all.some((m) => m.body.toState === 'CLOSED') && all;
    });
    expect(messages.map((m) => m.body.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const m of messages) expect(m.headers).not.toHaveProperty('traceparent');
    const rows = await sql(t.dataSource, 'SELECT trace_context FROM fsm_outbox WHERE order_id = ?', [orderId]);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.trace_context === null)).toBe(true);
    expect(memory.getFinishedSpans()).toEqual([]);
  });
});

/** What an OTLP/HTTP collector would receive (JSON), flattened to the fields the tests read. */
interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  readonly resource: Record<string, unknown>;
}

type OtlpAttribute = { key: string; value: Record<string, unknown> };
const attributesOf = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]));

describe('the service process with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  const prefix = uniquePrefix('traced-process');
  const exported: ExportedSpan[] = [];
  let collector: Server;
  let service: ServiceProcess;

  beforeAll(async () => {
    // A collector of our own: the spans the service exports over OTLP/HTTP (JSON).
    collector = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        for (const resourceSpans of JSON.parse(body).resourceSpans ?? []) {
          const resource = attributesOf(resourceSpans.resource?.attributes);
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) exported.push({ ...span, parentSpanId: span.parentSpanId || undefined, attributes: attributesOf(span.attributes), resource });
          }
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    service = await startServiceProcess({ AMQP_PREFIX: prefix, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'taxi-orders-test', LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await service?.stop();
    await new Promise((resolve) => collector?.close(resolve));
  });

  it('the HTTP server span, named by its route, holds the sendEvent span; the log names the trace; what is batched is exported when the service stops', async () => {
    const passengerId = `p-${prefix}`;
    await service.http().put(`/passengers/${passengerId}`).send({ name: 'Traced' }).expect(200);
    const created = await service
      .http()
      .post('/orders')
      .send({ requestId: `create-${prefix}`, bizCode: 'EXPRESS', sceneId: 'APP', payload: { passengerId, pickup: { lat: 31.2304, lng: 121.4737 }, dropoff: { lat: 31.1443, lng: 121.8083 } } })
      .expect(201);
    const orderId = created.body.orderId as string;
    await service.http().post(`/orders/${orderId}/events`).send({ event: 'ACCEPT', requestId: `accept-${prefix}`, payload: { driverId: 'd-1' } }).expect(200);
    // Probes, which are not to be traced.
    await service.http().get('/health').expect(200);
    await service.http().get('/health?probe=1').expect(200);
    // The relay has published ACCEPT's status message (its publish span has ended) before the service is stopped.
    const db = await openDatabase({ engineSchema: false, poolSize: 1 });
    try {
      await waitFor(`the relay to publish ${orderId}:2`, async () => (await sql(db, 'SELECT published_at FROM fsm_outbox WHERE message_id = ?', [`${orderId}:2`]))[0]?.published_at, 30_000);
    } finally {
      await db.destroy();
    }
    // SIGTERM: the application closes, then the SDK exports what it still holds.
    await service.stop();

    const accept = exported.find((s) => s.name === 'order-fsm.send_event' && s.attributes['order_fsm.order_id'] === orderId && s.attributes['order_fsm.event'] === 'ACCEPT');
    expect(accept).toBeDefined();
    expect(accept!.resource['service.name']).toBe('taxi-orders-test');
    const http = exported.find((s) => s.spanId === accept!.parentSpanId);
    // SPAN_KIND_SERVER
    expect(http).toMatchObject({ name: 'POST /orders/:orderId/events', kind: 2, traceId: accept!.traceId });
    expect(http!.attributes).toMatchObject({ 'http.route': '/orders/:orderId/events', 'http.response.status_code': 200 });
    const children = exported.filter((s) => s.parentSpanId === accept!.spanId).map((s) => s.name);
    expect(children).toEqual(expect.arrayContaining(['order-fsm.lock_wait', 'order-fsm.action', 'order-fsm.commit']));
    // The status message of ACCEPT was published in the same trace.
    expect(exported.find((s) => s.name === 'order-fsm.publish' && s.attributes['messaging.message.id'] === `${orderId}:2`)).toMatchObject({ traceId: accept!.traceId, parentSpanId: accept!.spanId });
    // The log line of the transition names its trace and its sendEvent span.
    const lines = service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line.orderId === orderId && line.event === 'ACCEPT' && String(line.msg).startsWith('applied'))).toMatchObject({
      trace_id: accept!.traceId,
      span_id: accept!.spanId,
    });
    // The probes are not traced, though they were answered while it traced the rest.
    expect(exported.some((s) => s.name === 'POST /orders/:orderId/events')).toBe(true);
    expect(exported.filter((s) => String(s.attributes['url.path']).startsWith('/health') || String(s.attributes['http.route']).startsWith('/health') || s.name.includes('/health'))).toEqual([]);
  });
});
