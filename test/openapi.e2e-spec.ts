import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ERROR_HTTP_STATUS } from '@order-fsm/core';
import { bearer } from './support/callers.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const run = promisify(execFile);
const bin = (path: string) => join(process.cwd(), 'node_modules', path);
/** A fresh folder inside the repository's node_modules, so that the client written there resolves openapi-fetch. */
const scratches: string[] = [];
const scratch = (prefix: string) => {
  mkdirSync(bin('.cache'), { recursive: true });
  scratches.push(mkdtempSync(join(bin('.cache'), prefix)));
  return scratches.at(-1)!;
};

/**
 * A client written against the types generated from the served document: it drives a ride with
 * openapi-fetch, and its two `@ts-expect-error` lines are compile errors only while the document
 * types events and payloads (tsc refuses an unused directive).
 */
const RIDE_CLIENT = `
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

const baseUrl = process.env.BASE_URL!;
const as = (token: string) => createClient<paths>({ baseUrl, headers: { Authorization: token } });
const app = as(process.env.CLIENT_AUTH!);
const payments = as(process.env.PAYMENT_AUTH!);
const unique = (name: string) => name + '-' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);

const passengerId = unique('p');
const put = await app.PUT('/passengers/{passengerId}', { params: { path: { passengerId } }, body: { name: 'Ann' } });
if (put.error) throw new Error(JSON.stringify(put.error));
const created = await app.POST('/orders', {
  body: { requestId: unique('create'), bizCode: 'EXPRESS', sceneId: 'APP', payload: { passengerId, pickup: { lat: 31.23, lng: 121.47 }, dropoff: { lat: 31.14, lng: 121.81 } } },
});
if (!created.data) throw new Error(JSON.stringify(created.error));
const orderId = created.data.orderId;
const states: string[] = [created.data.toState];
type EventBody = paths['/orders/{orderId}/events']['post']['requestBody']['content']['application/json'];
async function send(client: typeof app, body: EventBody): Promise<void> {
  const answer = await client.POST('/orders/{orderId}/events', { params: { path: { orderId } }, body });
  if (!answer.data) throw new Error(JSON.stringify(answer.error));
  states.push(answer.data.toState);
}
await send(app, { event: 'ACCEPT', requestId: unique('accept'), payload: { driverId: 'd-7' } });
await send(app, { event: 'ARRIVE', requestId: unique('arrive') });
await send(app, { event: 'START_TRIP', requestId: unique('start'), expectedState: 'ARRIVED' });
await send(app, { event: 'END_TRIP', requestId: unique('end'), payload: { distanceKm: 3 } });
await send(app, { event: 'CONFIRM_FEE', requestId: unique('fee') });
await send(payments, { event: 'PAY', requestId: unique('pay'), payload: { paymentId: unique('payment') } });
await send(app, { event: 'CLOSE', requestId: unique('close') });

export const refused = [
  // @ts-expect-error 'ACEPT' is no event of the machine
  () => send(app, { event: 'ACEPT', requestId: 'r-1', payload: { driverId: 'd-7' } }),
  // @ts-expect-error ACCEPT's processor takes a driverId, not a distance
  () => send(app, { event: 'ACCEPT', requestId: 'r-2', payload: { distanceKm: 3 } }),
];
console.log(JSON.stringify({ orderId, states }));
`;

interface Operation {
  responses: Record<string, { description: string; content?: Record<string, { schema: { $ref?: string } }> }>;
}

describe('OpenAPI at /docs', () => {
  let t: TestApp;
  let document: { paths: Record<string, Record<string, Operation>>; info: { description: string }; components: { schemas: Record<string, unknown> } };
  beforeAll(async () => {
    t = await startTestApp({ mode: 'embedded', relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false });
    document = (await t.http().get('/docs-json').expect(200)).body;
  });
  afterAll(async () => {
    await t.close();
    for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the UI', async () => {
    const response = await t.http().get('/docs').redirects(1).expect(200);
    expect(response.text).toContain('swagger-ui');
  });

  it('documents every endpoint the service has', () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'GET /fsm/diagram',
        'GET /fsm/validation',
        'GET /health',
        'GET /health/ready',
        'GET /metrics',
        'GET /orders/{orderId}',
        'GET /orders/{orderId}/transitions',
        'POST /orders',
        'POST /orders/{orderId}/events',
        'PUT /passengers/{passengerId}',
        // The operator API (@order-fsm/core/ops), mounted for the operator role.
        'GET /ops/me',
        'GET /ops/machine',
        'GET /ops/orders',
        'GET /ops/orders/{orderId}',
        'POST /ops/orders/{orderId}/force',
        'POST /ops/orders/{orderId}/pause',
        'POST /ops/orders/{orderId}/resume',
        'POST /ops/orders/{orderId}/events',
        'POST /ops/orders/{orderId}/migrate',
        'GET /ops/dead-letters',
        'POST /ops/dead-letters/{id}/redrive',
        'POST /ops/dead-letters/{id}/discard',
        'GET /ops/stuck',
        'GET /ops/counts',
        'POST /ops/bulk/force',
        'POST /ops/bulk/pause',
        'POST /ops/bulk/resume',
        'POST /ops/bulk/redrive',
        'POST /ops/bulk/migrate',
      ].sort(),
    );
  });

  it('documents the operator API from its description: a summary and its error codes on every route', () => {
    const force = document.paths['/ops/orders/{orderId}/force'].post as Operation & { tags: string[]; summary: string };
    expect(force.tags).toEqual(['ops']);
    expect(force.summary).toContain('toState, reason');
    const codesAt = (status: number) => [...force.responses[String(status)].description.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]).sort();
    expect(codesAt(401)).toEqual(['UNAUTHENTICATED']);
    expect(codesAt(403)).toEqual(['FORBIDDEN']);
    expect(codesAt(409)).toEqual(['MACHINE_VERSION_NOT_SERVED', 'ORDER_BUSY', 'ORDER_STATE_NOT_MATCH', 'VERSION_CONFLICT']);
    expect(codesAt(422)).toEqual(['IDEMPOTENCY_KEY_REUSED', 'STATE_NOT_DECLARED']);
    expect(codesAt(503)).toEqual(['DEPENDENCY_UNAVAILABLE', 'MACHINE_VERSION_NOT_YET_SERVED']);
    for (const [path, methods] of Object.entries(document.paths).filter(([path]) => path.startsWith('/ops/'))) {
      for (const operation of Object.values(methods) as Array<{ summary?: string; tags?: string[] }>) expect([path, operation.tags, !!operation.summary]).toEqual([path, ['ops'], true]);
    }
  });

  it('documents the body of every operator act as the controller reads it: the same fields, and no other', async () => {
    const posts = Object.entries(document.paths).filter(([path, methods]) => path.startsWith('/ops/') && methods.post);
    expect(posts).toHaveLength(12);
    for (const [path, methods] of posts) {
      const body = (methods.post as unknown as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean } }> } }).requestBody;
      const schema = body.content['application/json'].schema;
      expect([path, schema.additionalProperties, schema.required]).toEqual([path, false, expect.arrayContaining(['reason'])]);
      // The controller names the fields it takes when it is sent one it does not.
      const url = path.replace('{orderId}', 'o-1').replace('{id}', '1');
      const refused = await t.http('operator').post(url).send({ reason: 'r', notAField: 1 });
      expect([path, refused.status, refused.body.code, [...refused.body.details.allowed].sort()]).toEqual([path, 400, 'VALIDATION_FAILED', Object.keys(schema.properties).sort()]);
    }
  });

  it('lists the error codes of sendEvent under their statuses, with the error body', () => {
    const responses = document.paths['/orders/{orderId}/events'].post.responses;
    const codesAt = (status: number) => [...responses[String(status)].description.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]).sort();
    expect(codesAt(400)).toEqual(['VALIDATION_FAILED']);
    expect(codesAt(404)).toEqual(['ORDER_NOT_FOUND']);
    expect(codesAt(409)).toEqual(['MACHINE_VERSION_NOT_SERVED', 'NOT_FOUND_PROCESSOR', 'ORDER_BUSY', 'ORDER_STATE_NOT_MATCH', 'VERSION_CONFLICT']);
    expect(codesAt(413)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(codesAt(415)).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
    expect(codesAt(408)).toEqual(['REQUEST_TIMEOUT']);
    expect(codesAt(429)).toEqual(['RATE_LIMITED']);
    expect(codesAt(431)).toEqual(['HEADERS_TOO_LARGE']);
    expect(codesAt(422)).toEqual(['CHECK_FAILED', 'IDEMPOTENCY_KEY_REUSED']);
    expect(codesAt(503)).toEqual(['DEPENDENCY_UNAVAILABLE', 'MACHINE_VERSION_NOT_YET_SERVED']);
    expect(responses['409'].content!['application/json'].schema.$ref).toBe('#/components/schemas/ErrorBodyDto');
    expect(responses['200'].content!['application/json'].schema.$ref).toBe('#/components/schemas/TransitionViewDto');
  });

  it('says what every public error code means, with its status, in one table', () => {
    for (const [code, status] of Object.entries(ERROR_HTTP_STATUS)) {
      if (code === 'DUPLICATE_REQUEST') continue; // internal: answered as a replay
      expect(document.info.description).toContain(`| \`${code}\` | ${status} |`);
    }
  });

  it('passes redocly lint with its recommended rules: no error, no warning', async () => {
    const dir = scratch('openapi-lint-');
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
    const lint = await run(process.execPath, [bin('@redocly/cli/bin/cli.js'), 'lint', '--extends=recommended', '--format=json', join(dir, 'openapi.json')], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    }).catch((error: { stdout: string }) => error);
    const report = JSON.parse(lint.stdout) as { totals: Record<string, number>; problems: { ruleId: string; message: string; location: { pointer: string }[] }[] };
    expect(report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('types each event the served machines declare, with the payload its processors take, told apart by event', () => {
    const schemas = document.components.schemas as Record<string, { oneOf?: { $ref: string }[]; discriminator?: { propertyName: string; mapping: Record<string, string> }; properties?: Record<string, { enum?: string[]; $ref?: string }>; required?: string[] }>;
    const sendEvent = schemas.SendEventDto;
    expect(sendEvent.discriminator!.propertyName).toBe('event');
    // Every event a caller may send, in v1 or v2 (APPROVE_FEE and REJECT_FEE are v2's); not CREATE, nor the service's own.
    expect(Object.keys(sendEvent.discriminator!.mapping).sort()).toEqual(['ACCEPT', 'APPROVE_FEE', 'ARRIVE', 'CANCEL', 'CLOSE', 'CONFIRM_FEE', 'END_TRIP', 'PAY', 'REJECT_FEE', 'START_TRIP']);
    expect(sendEvent.oneOf).toHaveLength(10);
    const accept = schemas.SendEventACCEPT;
    expect(accept.properties!.event.enum).toEqual(['ACCEPT']);
    expect(accept.required).toEqual(['event', 'requestId', 'payload']);
    expect(accept.properties!.payload.$ref).toBe('#/components/schemas/AcceptPayload');
    expect(schemas.AcceptPayload).toMatchObject({ type: 'object', required: ['driverId'], properties: { driverId: { type: 'string', maxLength: 64 } } });
    expect(schemas.SendEventEND_TRIP.properties!.payload.$ref).toBe('#/components/schemas/EndTripPayload');
    expect(schemas.EndTripPayload).toMatchObject({ required: ['distanceKm'], properties: { distanceKm: { type: 'number', minimum: 0, maximum: 2000 } } });
    expect(schemas.SendEventARRIVE.required).toEqual(['event', 'requestId']);
    expect(schemas.NoPayload).toMatchObject({ type: 'object', additionalProperties: false });
    // An operator may send any declared event, the service's own included.
    const opsEvent = (document.paths['/ops/orders/{orderId}/events'].post as unknown as { requestBody: { content: Record<string, { schema: { properties: { event: { enum: string[] } } } }> } }).requestBody;
    expect(opsEvent.content['application/json'].schema.properties.event.enum).toEqual(['ACCEPT', 'ACCEPT_TIMEOUT', 'APPROVE_FEE', 'ARRIVE', 'AUTO_PAY', 'CANCEL', 'CLOSE', 'CONFIRM_FEE', 'CREATE', 'END_TRIP', 'PAY', 'PAYMENT_TIMEOUT', 'REJECT_FEE', 'START_TRIP']);
    // CREATE: the standard processors' payload, or the AIRPORT ones' with serviceType.
    expect((schemas.CreateOrderDto.properties!.payload as { anyOf: { $ref: string }[] }).anyOf.map((r) => r.$ref)).toEqual(['#/components/schemas/CreatePayload', '#/components/schemas/AirportCreatePayload']);
    expect(schemas.AirportCreatePayload).toMatchObject({ required: ['passengerId', 'pickup', 'dropoff', 'serviceType'], properties: { serviceType: { enum: ['PICKUP', 'DROPOFF'] } } });
  });

  it('declares the bearer token on every operation but GET /health, which has a schema, and a 4xx everywhere', () => {
    const health = document.paths['/health'].get as Operation & { security: unknown[] };
    expect(health.security).toEqual([]);
    expect((health.responses['200'].content!['application/json'].schema as unknown as { properties: unknown }).properties).toEqual({ status: { type: 'string', enum: ['ok'] } });
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods) as [string, Operation & { security: unknown[] }][]) {
        expect([method, path, Object.keys(operation.responses).some((status) => status.startsWith('4'))]).toEqual([method, path, true]);
        if (path !== '/health') expect([method, path, operation.security, Object.keys(operation.responses)]).toEqual([method, path, [{ bearer: [] }], expect.arrayContaining(['401'])]);
      }
    }
  });

  it('declares the diagram\'s refusal as the JSON error body, not as an image', () => {
    const responses = document.paths['/fsm/diagram'].get.responses;
    expect(Object.keys(responses['400'].content!)).toEqual(['application/json']);
    expect(Object.keys(responses['200'].content!)).toEqual(expect.arrayContaining(['image/svg+xml; charset=utf-8', 'text/html; charset=utf-8']));
  });

  it('does not list DUPLICATE_REQUEST, which no client is ever answered', () => {
    const code = (document.components.schemas.ErrorBodyDto as { properties: { code: { enum: string[] } } }).properties.code;
    expect(code.enum).not.toContain('DUPLICATE_REQUEST');
    expect(code.enum).toContain('METHOD_NOT_ALLOWED');
  });

  it('a client generated from it (openapi-typescript, openapi-fetch) compiles, refuses ACEPT and a wrong payload, and drives a ride', async () => {
    const dir = scratch('openapi-client-');
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    await run(process.execPath, [bin('openapi-typescript/bin/cli.js'), join(dir, 'openapi.json'), '-o', join(dir, 'api.d.ts')]);
    writeFileSync(join(dir, 'ride.ts'), RIDE_CLIENT);
    const tsc = (file: string) =>
      run(process.execPath, [bin('typescript/bin/tsc'), '--ignoreConfig', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', '--types', 'node', '--outDir', join(dir, 'out'), join(dir, file)]).then(
        () => ({ code: 0, stdout: '' }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    expect(await tsc('ride.ts')).toEqual({ code: 0, stdout: '' });
    // Without the directive, the misspelt event is an error, and it is the event that is refused.
    writeFileSync(join(dir, 'loose.ts'), RIDE_CLIENT.replace("// @ts-expect-error 'ACEPT' is no event of the machine", ''));
    const loose = await tsc('loose.ts');
    expect(loose.code).not.toBe(0);
    expect(loose.stdout).toMatch(/loose\.ts\(\d+,\d+\): error TS\d+: .*"ACEPT"/);

    const { port } = t.app.getHttpServer().address() as { port: number };
    const ride = await run(process.execPath, [join(dir, 'out', 'ride.js')], {
      env: { ...process.env, BASE_URL: `http://127.0.0.1:${port}`, CLIENT_AUTH: bearer('client'), PAYMENT_AUTH: bearer('payment') },
    });
    const { orderId, states } = JSON.parse(ride.stdout.trim().split('\n').at(-1)!) as { orderId: string; states: string[] };
    expect(states).toEqual(['CREATED', 'ACCEPTED', 'ARRIVED', 'IN_TRIP', 'TRIP_ENDED', 'FEE_CONFIRMED', 'PAID', 'CLOSED']);
    const order = await t.http().get(`/orders/${orderId}`).expect(200);
    expect(order.body).toMatchObject({ state: 'CLOSED', data: { driverId: 'd-7', distanceKm: 3 } });
  }, 120_000);

  it('answers 405 METHOD_NOT_ALLOWED with Allow for a method a path does not take, and 404 for a path that does not exist', async () => {
    const wrong = await t.http().delete('/orders/o-1');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    expect(wrong.body).toEqual({ statusCode: 405, code: 'METHOD_NOT_ALLOWED', message: '/orders/o-1 does not take DELETE; it takes GET, HEAD', details: { allow: ['GET', 'HEAD'] } });
    const post = await t.http().put('/orders').send({});
    expect([post.status, post.headers.allow, post.body.code]).toEqual([405, 'POST', 'METHOD_NOT_ALLOWED']);
    expect((await t.http().delete('/nowhere')).body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    // Without a token, nothing is told of the routes.
    const anonymous = await t.http().delete('/orders/o-1').set('Authorization', '');
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('answers what it documents: a refused event has the documented body', async () => {
    const response = await t.http().post('/orders/nope/events').send({ event: 'ACCEPT', requestId: 'r-1' });
    expect(response.status).toBe(404);
    expect(Object.keys(response.body).sort()).toEqual(['code', 'details', 'message', 'statusCode']);
  });
});
