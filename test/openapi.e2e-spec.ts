import { ERROR_HTTP_STATUS } from '@order-fsm/core';
import { startTestApp, type TestApp } from './support/test-app.js';

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
    expect(codesAt(409)).toEqual(['ORDER_BUSY', 'ORDER_STATE_NOT_MATCH', 'VERSION_CONFLICT']);
    expect(codesAt(422)).toEqual(['IDEMPOTENCY_KEY_REUSED', 'STATE_NOT_DECLARED']);
    for (const [path, methods] of Object.entries(document.paths).filter(([path]) => path.startsWith('/ops/'))) {
      for (const operation of Object.values(methods) as Array<{ summary?: string; tags?: string[] }>) expect([path, operation.tags, !!operation.summary]).toEqual([path, ['ops'], true]);
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
    expect(codesAt(503)).toEqual(['DEPENDENCY_UNAVAILABLE']);
    expect(responses['409'].content!['application/json'].schema.$ref).toBe('#/components/schemas/ErrorBodyDto');
    expect(responses['200'].content!['application/json'].schema.$ref).toBe('#/components/schemas/TransitionViewDto');
  });

  it('says what every public error code means, with its status, in one table', () => {
    for (const [code, status] of Object.entries(ERROR_HTTP_STATUS)) {
      if (code === 'DUPLICATE_REQUEST') continue; // internal: answered as a replay
      expect(document.info.description).toContain(`| \`${code}\` | ${status} |`);
    }
  });

  it('answers what it documents: a refused event has the documented body', async () => {
    const response = await t.http().post('/orders/nope/events').send({ event: 'ACCEPT', requestId: 'r-1' });
    expect(response.status).toBe(404);
    expect(Object.keys(response.body).sort()).toEqual(['code', 'details', 'message', 'statusCode']);
  });
});
