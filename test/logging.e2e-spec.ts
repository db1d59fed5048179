import { RequestMethod } from '@nestjs/common';
import type { DestinationStream } from 'pino';
import { loadServiceConfig } from '../apps/order-service/src/config/service-config.js';
import { loggerParams } from '../apps/order-service/src/infrastructure/logging.js';
import { waitFor } from './support/broker.js';
import { callerName } from './support/callers.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { advance, createOrder, newPassenger, postOrder, sendEvent, TO_FEE_CONFIRMED, type TestAppLike, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

interface LogLine {
  level: number;
  msg: string;
  context?: string;
  orderId?: string;
  event?: string;
  requestId?: string;
  source?: string;
  caller?: string;
  processor?: string;
  req?: { id: string; method: string; url: string };
  res?: { statusCode: number };
  reqId?: string;
  code?: string;
  reason?: string;
  port?: number;
  mode?: string;
  signal?: string;
}

describe('structured JSON logs', () => {
  let service: ServiceProcess;
  let client: TestAppLike;
  const lines = () =>
    service
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LogLine);

  beforeAll(async () => {
    // Embedded: this is about the lines, not the services. Debug shows the refusals too.
    service = await startServiceProcess({ DATABASE_URL: '', REDIS_URL: '', AMQP_URL: '', LOG_LEVEL: 'debug', WORKER_RETRY_DELAYS_MS: '100' });
    client = { http: service.http };
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('writes every line as JSON, the first one saying where the orders go', async () => {
    // Nest's own start-up lines are buffered until the logger is in place, then written.
    await waitFor("Nest's start-up lines", async () => lines().some((l) => l.context === 'NestApplication'), 5_000);
    const all = lines(); // JSON.parse throws on a line that is not JSON
    expect(all[0]).toMatchObject({ context: 'Bootstrap', mode: 'embedded' });
    // The line saying it listens names the port and the mode.
    expect(all.find((l) => l.msg.startsWith(`taxi order service listening on :${service.port} `))).toMatchObject({ context: 'Bootstrap', port: service.port, mode: 'embedded' });
  });

  it('carries order id, event, request id and processor on every line about a transition, from REST and from the worker', async () => {
    const orderId = await createOrder(client, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' });
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(client, orderId, event, payload);
    await waitFor('the order CLOSED', async () => (await client.http().get(`/orders/${orderId}`)).body.state === 'CLOSED', 20_000);
    await waitFor('the CLOSE line', async () => lines().some((l) => l.orderId === orderId && l.event === 'CLOSE'), 5_000);

    const about = lines().filter((l) => l.orderId === orderId);
    const applied = about.filter((l) => l.msg.startsWith('applied '));
    expect(applied.map((l) => [l.event, l.source, l.processor])).toEqual([
      ['CREATE', 'api', 'CreateOrderProcessor'],
      ['ACCEPT', 'api', 'AcceptOrderProcessor'],
      ['ARRIVE', 'api', 'ArriveProcessor'],
      ['START_TRIP', 'api', 'StartTripProcessor'],
      ['END_TRIP', 'api', 'EndTripProcessor'],
      ['CONFIRM_FEE', 'api', 'ConfirmFeeWithReviewProcessor'],
      ['AUTO_PAY', 'worker', 'CompanyAutoPayProcessor'],
      ['CLOSE', 'worker', 'CloseProcessor'],
    ]);
    for (const line of applied) expect(line.requestId).toEqual(expect.any(String));
    // Every line of a request names its caller; the worker's name none.
    expect(applied.map((l) => l.caller)).toEqual([...Array(6).fill(callerName('client')), undefined, undefined]);
    // Through REST the transition's line also names the request it belongs to (the request's id, as its own line has it).
    for (const line of applied.filter((l) => l.source === 'api')) {
      expect(line.reqId).toEqual(expect.any(String));
      expect(lines().find((l) => l.req?.id === line.reqId && l.res !== undefined)).toMatchObject({ req: { method: 'POST' }, res: { statusCode: expect.any(Number) } });
    }
  });

  it('logs a refusal with its code and the transition it refused (debug), and the request line with its status, code and message (info)', async () => {
    const orderId = await createOrder(client);
    const refused = await sendEvent(client, orderId, 'ARRIVE', {}, { requestId: 'arrive-too-early' });
    expect(refused.status).toBe(409);
    await waitFor('the refusal lines', async () => lines().some((l) => l.orderId === orderId && l.msg.startsWith('refused ARRIVE')), 5_000);
    const refusal = lines().find((l) => l.orderId === orderId && l.msg.startsWith('refused ARRIVE'))!;
    expect(refusal).toMatchObject({ level: 20, event: 'ARRIVE', source: 'api', msg: expect.stringContaining('NOT_FOUND_PROCESSOR') });
    // The request's own line is written once the answer has gone out.
    const requestLine = await waitFor('the request line', async () => lines().find((l) => l.req?.url === `/orders/${orderId}/events` && l.res !== undefined), 5_000);
    expect(requestLine).toMatchObject({
      level: 30,
      msg: 'request refused',
      res: { statusCode: 409 },
      caller: callerName('client'),
      code: 'NOT_FOUND_PROCESSOR',
      reason: refused.body.message,
      orderId,
      requestId: 'arrive-too-early',
      reqId: refused.headers['x-request-id'],
    });
    expect(refusal.caller).toBe(callerName('client'));
    expect(refusal.reqId).toBe(refused.headers['x-request-id']);
  });
});

describe('request lines', () => {
  const autoLogging = (LOG_LEVEL: string) => (loggerParams(loadServiceConfig({ LOG_LEVEL })).pinoHttp as { autoLogging: unknown }).autoLogging;

  it('are written from info down, and switched off above it, 4xx and 5xx lines included (faults are logged by the exception filter)', () => {
    for (const level of ['trace', 'debug', 'info']) expect(autoLogging(level)).toEqual({ ignore: expect.any(Function) });
    for (const level of ['warn', 'error', 'fatal', 'silent']) expect(autoLogging(level)).toBe(false);
  });

  it('bind a request logger to every route from info down, and to none above it', () => {
    const forRoutes = (LOG_LEVEL: string) => loggerParams(loadServiceConfig({ LOG_LEVEL })).forRoutes;
    for (const level of ['trace', 'debug', 'info']) expect(forRoutes(level)).toEqual([{ path: '{*splat}', method: RequestMethod.ALL }]);
    for (const level of ['warn', 'error', 'fatal', 'silent']) expect(forRoutes(level)).toEqual([]);
  });
});

/**
 * The in-process apps' log lines, as JSON. nestjs-pino builds one pino-http (one logger, one level,
 * one destination) per process, the first app's: the apps below all write here, and each test picks
 * its own lines by request id.
 */
const lines: LogLine[] = [];
const destination: DestinationStream = { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogLine) };

const UUID = /^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[\da-f]{4}-[\da-f]{12}$/;

describe('a request, followed through its lines (LOG_LEVEL=info)', () => {
  let t: TestApp;
  /** The request's own line, once its answer has gone out. */
  const requestLine = (reqId: string) => waitFor(`the line of request ${reqId}`, async () => lines.find((l) => l.req?.id === reqId && l.res !== undefined), 5_000);

  beforeAll(async () => {
    t = await startTestApp({ logLevel: 'info' }, { logDestination: destination });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("takes the caller's X-Request-Id, answers with it and puts it on every line of the request, the engine's included", async () => {
    const orderId = await createOrder(t);
    const requestId = uid('accept');
    const response = await t.http().post(`/orders/${orderId}/events`).set('x-request-id', 'lb-7f3a:9_x.1').send({ event: 'ACCEPT', requestId, payload: { driverId: 'd1' } });
    expect(response.status).toBe(200);
    expect(response.headers['x-request-id']).toBe('lb-7f3a:9_x.1');
    const own = await requestLine('lb-7f3a:9_x.1');
    expect(own).toMatchObject({ level: 30, msg: 'request completed', reqId: 'lb-7f3a:9_x.1', caller: callerName('client'), orderId, requestId, res: { statusCode: 200 } });
    const during = lines.filter((l) => l.reqId === 'lb-7f3a:9_x.1' && l !== own);
    expect(during.map((l) => l.msg)).toEqual([expect.stringMatching(/^applied ACCEPT CREATED -> ACCEPTED v\d+ /)]);
    expect(during[0]).toMatchObject({ orderId, requestId, event: 'ACCEPT', caller: callerName('client'), processor: 'AcceptOrderProcessor' });
  });

  it('replaces an X-Request-Id that is too long or holds anything but letters, digits and _ . : - with a new one, and never echoes it', async () => {
    for (const bad of ['x'.repeat(65), 'a b', 'id"}{"level":60', '<script>', 'é']) {
      const response = await t.http().get('/orders/none-such').set('x-request-id', bad);
      expect(response.status).toBe(404);
      expect(response.headers['x-request-id']).toMatch(UUID);
      expect((await requestLine(response.headers['x-request-id'])).req!.id).toBe(response.headers['x-request-id']);
    }
    expect(JSON.stringify(lines)).not.toContain('<script>');
  });

  it("without X-Request-Id takes a W3C traceparent's trace id, and without either makes one", async () => {
    const traced = await t.http().get('/orders/none-such').set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(traced.headers['x-request-id']).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    // An invalid one (an all-zero trace id, upper-case hex) is not taken.
    for (const invalid of ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', 'garbage']) {
      expect((await t.http().get('/orders/none-such').set('traceparent', invalid)).headers['x-request-id']).toMatch(UUID);
    }
    // X-Request-Id wins over traceparent.
    const both = await t.http().get('/orders/none-such').set('x-request-id', 'mine-1').set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(both.headers['x-request-id']).toBe('mine-1');
    const plain = await t.http().get('/orders/none-such');
    expect(plain.headers['x-request-id']).toMatch(UUID);
    expect((await requestLine(plain.headers['x-request-id'])).req!.url).toBe('/orders/none-such');
  });

  it('answers X-Request-Id on every answer, and logs each refusal once, at info, with its code: 401, no route, a malformed URL, bodies refused before any controller, the operator API', async () => {
    const answers = [
      await t.http().get('/health'),
      await t.http().get('/orders/x').set('authorization', 'Bearer wrong-token-0123456789'),
      await t.http().get('/no/such/route'),
      await t.http().get('/orders/%zz'),
      await t.http().post('/orders').set('content-type', 'text/plain').send('hello'),
      await t.http().post('/orders').set('content-type', 'application/json').send('{"requestId":'),
      // The operator API answers through an exception filter of its own.
      await t.http('client').get('/ops/orders/none-such'),
      await t.http('operator').get('/ops/orders/none-such'),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 401, 404, 400, 415, 400, 403, 404]);
    for (const [index, answer] of answers.entries()) expect([index, answer.headers['x-request-id']]).toEqual([index, expect.stringMatching(UUID)]);
    // Each refusal's line says why, once, at info.
    for (const answer of answers.slice(1)) {
      const id = answer.headers['x-request-id'];
      const about = await waitFor('the refusal line', async () => lines.find((l) => l.req?.id === id && l.res !== undefined), 5_000).catch((e) => {
        throw new Error(`${e} ${answer.status} ${JSON.stringify(answer.body)}`);
      });
      expect(about).toMatchObject({ level: 30, msg: 'request refused', code: answer.body.code, reason: answer.body.message, res: { statusCode: answer.status } });
      expect(lines.filter((l) => (l.reqId === id || l.req?.id === id) && (l.code !== undefined || l.level >= 40))).toEqual([about]);
    }
  });

  it('logs a refused event once, at info, with its code, message, order, requestId, caller and request id', async () => {
    const orderId = await createOrder(t);
    const requestId = uid('too-soon');
    const refused = await sendEvent(t, orderId, 'START_TRIP', {}, { requestId });
    expect(refused.status).toBe(409);
    const id = refused.headers['x-request-id'];
    const line = await requestLine(id);
    expect(line).toMatchObject({
      level: 30,
      msg: 'request refused',
      reqId: id,
      caller: callerName('client'),
      orderId,
      requestId,
      code: refused.body.code,
      reason: refused.body.message,
      res: { statusCode: 409 },
    });
    // Nothing else about it: no warning, no second line with its code.
    expect(lines.filter((l) => l.reqId === id)).toEqual([line]);
  });

  it('logs a replayed create with the order it created, not an id that was never an order', async () => {
    const passengerId = await newPassenger(t);
    const requestId = uid('create-twice');
    const first = await postOrder(t, { requestId, passengerId });
    expect(first.status).toBe(201);
    const again = await postOrder(t, { requestId, passengerId });
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.orderId).toBe(first.body.orderId);
    const replayed = await waitFor('the replay line', async () => lines.find((l) => l.reqId === again.headers['x-request-id'] && l.msg.startsWith('replayed CREATE')), 5_000);
    expect(replayed).toMatchObject({ orderId: first.body.orderId, requestId, event: 'CREATE' });
    expect(await requestLine(again.headers['x-request-id'])).toMatchObject({ orderId: first.body.orderId, requestId, res: { statusCode: 201 } });
    // Only the order that exists is ever named by this request id.
    expect(new Set(lines.filter((l) => l.requestId === requestId).map((l) => l.orderId))).toEqual(new Set([first.body.orderId]));
  });

  it('never logs the probes and scrapes (/health, /health/ready, /metrics), with a query string or without', async () => {
    const probes = [
      await t.http().get('/health'),
      await t.http().get('/health?probe=k8s'),
      await t.http().head('/health'),
      await t.http('operator').get('/health/ready'),
      await t.http('operator').get('/metrics'),
      await t.http('operator').get('/metrics?name[]=x'),
    ];
    for (const probe of probes) expect(probe.status).toBeLessThan(500);
    // A request after them is logged: once its line is there, the probes' would be too.
    const after = await t.http().get('/orders/after-the-probes');
    await requestLine(after.headers['x-request-id']);
    const ids = new Set(probes.map((p) => p.headers['x-request-id']));
    expect(lines.filter((l) => ids.has(l.reqId ?? l.req?.id ?? ''))).toEqual([]);
    expect(lines.filter((l) => /^\/(health|metrics)/.test(l.req?.url ?? ''))).toEqual([]);
  });
});

describe('a request over the rate limit (LOG_LEVEL=info)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ logLevel: 'info', rateLimit: { max: 1, windowMs: 60_000 } }, { logDestination: destination });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is answered 429 with its X-Request-Id, and its line says RATE_LIMITED once, at info', async () => {
    expect((await t.http().get('/orders/none-such')).status).toBe(404);
    const limited = await t.http().get('/orders/none-such').set('x-request-id', 'limited-1');
    expect(limited.status).toBe(429);
    expect(limited.headers['x-request-id']).toBe('limited-1');
    const line = await waitFor('the 429 line', async () => lines.find((l) => l.req?.id === 'limited-1' && l.res !== undefined), 5_000);
    expect(line).toMatchObject({ level: 30, msg: 'request refused', code: 'RATE_LIMITED', reason: limited.body.message, caller: callerName('client'), res: { statusCode: 429 } });
    expect(lines.filter((l) => l.reqId === 'limited-1')).toEqual([line]);
  });
});

describe('the process: its start, its shutdown and its format', () => {
  it('says it listens (port and mode), then on SIGTERM that it received it, drained and closed, at any LOG_LEVEL but silent', async () => {
    const service = await startServiceProcess({ DATABASE_URL: '', REDIS_URL: '', AMQP_URL: '', LOG_LEVEL: 'error', LOG_FORMAT: 'json' });
    await service.stop('SIGTERM');
    const all = service
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LogLine);
    const bootstrap = all.filter((l) => l.context === 'Bootstrap' && !('caller' in l) && !l.msg.startsWith('set API_TOKENS')).map((l) => l.msg);
    expect(bootstrap).toEqual([
      expect.stringMatching(/^embedded mode: /),
      `taxi order service listening on :${service.port} (embedded mode, LOG_LEVEL=error)`,
      expect.stringMatching(/^SIGTERM received: shutting down/),
      expect.stringMatching(/^drained: /),
      'closed: the service has stopped',
    ]);
    expect(all.find((l) => l.msg.startsWith('SIGTERM received'))).toMatchObject({ signal: 'SIGTERM', level: 30 });
    expect(service.child.exitCode).toBe(0);
  });

  it('writes readable lines rather than JSON with LOG_FORMAT=pretty', async () => {
    const service = await startServiceProcess({ DATABASE_URL: '', REDIS_URL: '', AMQP_URL: '', LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' });
    const response = await service.http().get('/orders/none-such').set('x-request-id', 'pretty-1');
    expect(response.status).toBe(404);
    await waitFor('the request line', async () => service.output().includes('request refused'), 5_000);
    await service.stop();
    const output = service.output();
    expect(output).toMatch(new RegExp(`^\\[[\\d:.]+\\] INFO: \\[Bootstrap\\] taxi order service listening on :${service.port} \\(embedded mode`, 'm'));
    expect(output).toContain(`INFO <${callerName('client')}>: request refused\n`);
    expect(output).toContain('reqId: "pretty-1"');
    expect(output).toContain('code: "ORDER_NOT_FOUND"');
    expect(output.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
  });
});

describe('LOG_FORMAT', () => {
  it('is pretty on a terminal unless NODE_ENV is production, JSON elsewhere, and either when set', () => {
    expect(loadServiceConfig({}, true).logFormat).toBe('pretty');
    expect(loadServiceConfig({ NODE_ENV: 'development' }, true).logFormat).toBe('pretty');
    expect(loadServiceConfig({ NODE_ENV: 'production' }, true).logFormat).toBe('json');
    expect(loadServiceConfig({}, false).logFormat).toBe('json');
    expect(loadServiceConfig({ LOG_FORMAT: 'json' }, true).logFormat).toBe('json');
    expect(loadServiceConfig({ LOG_FORMAT: 'pretty', NODE_ENV: 'production' }, false).logFormat).toBe('pretty');
  });

  it('refuses any other value at startup, saying which it takes', () => {
    expect(() => loadServiceConfig({ LOG_FORMAT: 'xml' })).toThrow('LOG_FORMAT must be one of json, pretty, not "xml"');
    expect(() => loadServiceConfig({ LOG_FORMAT: 'JSON' })).toThrow('LOG_FORMAT must be one of json, pretty, not "JSON"');
  });
});
