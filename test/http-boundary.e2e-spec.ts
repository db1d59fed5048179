import { MAX_PAYLOAD_DEPTH } from '@order-fsm/core';
import { connect } from 'node:net';
import { API_SECURITY_HEADER_OPTIONS, SECURITY_HEADER_OPTIONS, securityHeadersOf } from '../apps/order-service/src/infrastructure/http-boundary.js';
import { uniquePrefix } from './support/broker.js';
import { bearer } from './support/callers.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { createOrder, uid, type TestAppLike } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/** Nothing in the background: only what the requests do. */
const QUIET = { RELAY_ENABLED: 'false', WORKER_ENABLED: 'false', TIMERS_ENABLED: 'false', SWEEPER_ENABLED: 'false' };

/** `depth` objects, one inside the other, the innermost holding `inner`. */
const nestedObjects = (depth: number, inner = '1') => `${'{"a":'.repeat(depth - 1)}{"a":${inner}}${'}'.repeat(depth - 1)}`;
const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const eventBody = (payload: string) => `{"event":"ACCEPT","requestId":"${uid('deep')}","payload":${payload}}`;

describe('deep JSON: refused before anything walks it, and reads go on meanwhile', () => {
  let service: ServiceProcess;
  let base: string;
  let client: TestAppLike;

  const post = async (path: string, body: string) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: bearer('client') }, body });
    return { status: response.status, body: (await response.json()) as { code?: string; message?: string; state?: string } };
  };

  beforeAll(async () => {
    // A process of its own, so that the clients below do not share the server's event loop.
    // No rate limit: the storm below is one address sending thousands of requests, and this is about
    // what each of them costs, not about how many are let through.
    service = await startServiceProcess({ ...QUIET, AMQP_PREFIX: uniquePrefix('boundary'), RATE_LIMIT_MAX: '0' });
    base = `http://127.0.0.1:${service.port}`;
    client = { http: service.http };
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('applies an event whose payload nests as deep as the engine allows, and refuses one level more', async () => {
    const orderId = await createOrder(client);
    // The payload is one level; its deepest object is MAX_PAYLOAD_DEPTH levels down.
    const deepest = `{"driverId":"d-1","extra":${nestedObjects(MAX_PAYLOAD_DEPTH - 1)}}`;
    const tooDeep = `{"driverId":"d-1","extra":${nestedObjects(MAX_PAYLOAD_DEPTH)}}`;
    const deeper = `{"driverId":"d-1","extra":${nestedObjects(MAX_PAYLOAD_DEPTH + 1)}}`;
    expect(await post(`/orders/${orderId}/events`, eventBody(tooDeep))).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await post(`/orders/${orderId}/events`, eventBody(deeper))).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await post(`/orders/${orderId}/events`, eventBody(deepest))).toMatchObject({ status: 200, body: { toState: 'ACCEPTED' } });
  });

  it('answers 3,000 nested arrays and 4,000 nested objects with 400, while reads of an order keep being answered', async () => {
    const orderId = await createOrder(client);
    const reads = async (count: number) => {
      const started = performance.now();
      const statuses = [];
      for (let i = 0; i < count; i++) {
        const response = await fetch(`${base}/orders/${orderId}`, { headers: { authorization: bearer('client') } });
        await response.arrayBuffer();
        statuses.push(response.status);
      }
      return { statuses, ms: performance.now() - started };
    };
    await reads(20); // warm
    const quiet = await reads(100);

    // 16 clients send deep bodies back to back for as long as the same 100 reads take.
    const bodies = [eventBody(`{"x":${nestedArrays(3_000)}}`), eventBody(nestedObjects(4_000))];
    let reading = true;
    const storm = Array.from({ length: 16 }, async (_, c) => {
      const answers = [];
      for (let i = 0; reading || i < 2; i++) answers.push(await post(`/orders/${orderId}/events`, bodies[(c + i) % 2]));
      return answers;
    });
    const during = await reads(100).finally(() => (reading = false));
    const answers = (await Promise.all(storm)).flat();

    expect(answers.length).toBeGreaterThanOrEqual(32);
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', message: expect.stringContaining('deeper than') } });
    }
    expect([...quiet.statuses, ...during.statuses].every((status) => status === 200)).toBe(true);
    // The server answers a deep body in about 1 ms: the storm got through dozens of them for every
    // read (which waits its turn behind 16 of them). Before the depth was checked in the parser, each
    // cost the server about 130 ms (a stack overflow, and its stack logged). The storm's time per
    // refusal, with the reads' share in it, against a bound between the two that no noise of this
    // machine reaches (one measurement, not a ratio of two taken at different moments):
    expect(during.ms / answers.length).toBeLessThan(30);
    // Nothing was logged: no stack overflow, no 500.
    expect(service.output()).not.toMatch(/RangeError|Maximum call stack|INTERNAL_ERROR|"level":50/);
    const order = (await client.http().get(`/orders/${orderId}`).expect(200)).body;
    expect(order).toMatchObject({ state: 'CREATED', version: 1 });
  });
});

/** Writes `text` on a socket of its own and waits, 10 s at most, for the server to close it. */
function rawExchange(port: number, text: string): Promise<{ closed: boolean; answer: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const bound = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, answer });
    }, 10_000);
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(bound);
      resolve({ closed: true, answer });
    });
    socket.on('connect', () => text && socket.write(text));
  });
}

/** The JSON body of a raw HTTP answer. */
const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

describe('slow clients: a request that stops arriving is cut off, not held', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({
      relayEnabled: false,
      workerEnabled: false,
      timersEnabled: false,
      sweeperEnabled: false,
      http: { headersTimeoutMs: 1_000, requestTimeoutMs: 1_000, connectionTimeoutMs: 60_000 },
    });
    port = (t.app.getHttpServer().address() as { port: number }).port;
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers a body shorter than its Content-Length with 408 REQUEST_TIMEOUT and closes the connection; nothing is applied', async () => {
    const orderId = await createOrder(t);
    const { closed, answer } = await rawExchange(
      port,
      `POST /orders/${orderId}/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer('client')}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"event":"`,
    );
    expect(closed).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toMatch(/\r\nX-Content-Type-Options: nosniff\r\n/i);
    expect(bodyOf(answer)).toEqual({ statusCode: 408, code: 'REQUEST_TIMEOUT', message: expect.any(String) });
    expect((await t.http().get(`/orders/${orderId}`).expect(200)).body).toMatchObject({ state: 'CREATED', version: 1 });
  });

  it('answers headers that never end with 408 and closes the connection', async () => {
    const { closed, answer } = await rawExchange(port, 'POST /orders HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(closed).toBe(true);
    expect(bodyOf(answer)).toMatchObject({ statusCode: 408, code: 'REQUEST_TIMEOUT' });
  });

  it('closes a connection that never sends anything', async () => {
    expect((await rawExchange(port, '')).closed).toBe(true);
  });

  it('answers bytes that are not HTTP with its own error body', async () => {
    const { closed, answer } = await rawExchange(port, 'HELLO THERE\r\n\r\n');
    expect(closed).toBe(true);
    expect(answer).toMatch(/\r\nX-Request-Id: [\da-f-]{36}\r\n/i);
    expect(bodyOf(answer)).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
  });

  it('answers an HTTP/1.1 request without Host in its own words, where Node answered an empty 400', async () => {
    const { answer } = await rawExchange(port, `GET /orders/x HTTP/1.1\r\nAuthorization: ${bearer('client')}\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/\r\nx-content-type-options: nosniff\r\n/i);
    expect(answer).toMatch(/\r\nx-request-id: \S+\r\n/i);
    expect(bodyOf(answer)).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', details: { field: 'host' } });
    // HTTP/1.0 needs no Host.
    expect((await rawExchange(port, 'GET /health HTTP/1.0\r\n\r\n')).answer).toMatch(/^HTTP\/1\.[01] 200 /);
  });

  it('takes an Expect it does not know as if it were absent: the request goes through its hooks, where Node answered 417 to anyone', async () => {
    const orderId = await createOrder(t);
    const request = (auth: string) => `GET /orders/${orderId} HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n${auth}Connection: close\r\n\r\n`;
    const known = await rawExchange(port, request(`Authorization: ${bearer('client')}\r\n`));
    expect(known.answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(bodyOf(known.answer)).toMatchObject({ orderId, state: 'CREATED' });
    const anonymous = await rawExchange(port, request(''));
    expect(anonymous.answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(bodyOf(anonymous.answer)).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});

describe('the boundary answers in the service\'s own words', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses a body in a Content-Encoding it does not decode with 415, and applies nothing; identity is read as it is', async () => {
    const orderId = await createOrder(t);
    const accept = () => ({ event: 'ACCEPT', requestId: uid('enc'), payload: { driverId: 'd-1' } });
    for (const encoding of ['gzip', 'deflate', 'br', 'zstd', 'gzip, identity']) {
      const response = await t.http().post(`/orders/${orderId}/events`).set('content-encoding', encoding).send(accept());
      expect({ encoding, status: response.status, body: response.body }).toEqual({
        encoding,
        status: 415,
        body: { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('Content-Encoding') },
      });
    }
    expect((await t.http().get(`/orders/${orderId}/transitions`).expect(200)).body).toHaveLength(1);
    const identity = await t.http().post(`/orders/${orderId}/events`).set('content-encoding', 'identity').send(accept());
    expect(identity.body).toMatchObject({ toState: 'ACCEPTED' });
  });

  it('sends X-Content-Type-Options: nosniff on every answer: JSON, errors, and what the router refuses itself', async () => {
    const orderId = await createOrder(t);
    const answers = [
      await t.http().get(`/orders/${orderId}`),
      await t.http().get('/orders/nope'),
      await t.http().post('/orders').set('content-type', 'application/json').send('{"requestId": '),
      await t.http().get('/orders/%zz'),
      await t.http().get('/no-such-route'),
      await t.http().get('/health'),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 404, 400, 400, 404, 200]);
    for (const answer of answers) expect(answer.headers['x-content-type-options']).toBe('nosniff');
  });

  it("sends OWASP's REST set and Cache-Control: no-store on every JSON answer that reaches the hooks: orders, errors, 401s, 404s and 405s", async () => {
    const orderId = await createOrder(t);
    const expected: Record<string, string> = { ...securityHeadersOf(API_SECURITY_HEADER_OPTIONS), 'cache-control': 'no-store' };
    expect(expected['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    const answers = [
      await t.http().get(`/orders/${orderId}`),
      await t.http().post(`/orders/${orderId}/events`).send({ event: 'ACCEPT', requestId: uid('hdr'), payload: { driverId: 'd-1' } }),
      await t.http().post('/orders').set('content-type', 'application/json').send('{"requestId": '),
      await t.http().get('/orders/nope'),
      await t.http().get('/no-such-route'),
      await t.http().get(`/orders/${orderId}`).set('Authorization', 'Bearer not-a-token'),
      await t.http().delete('/health'),
      await t.http().get('/health'),
      // A route that sets its own Cache-Control (no-cache) on its answers: its errors are never stored.
      await t.http('operator').get('/fsm/diagram?format=jpeg'),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 400, 404, 404, 401, 405, 200, 400]);
    for (const answer of answers) {
      const { status } = answer;
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect({ status, headers: answer.headers }).toEqual({ status, headers: expect.objectContaining(expected) });
      // Nothing that only an HTML document heeds.
      expect(answer.headers['x-dns-prefetch-control']).toBeUndefined();
    }
  });

  it("sends helmet's whole page set on what is not JSON: the docs, the diagram, the metrics", async () => {
    const page = securityHeadersOf(SECURITY_HEADER_OPTIONS);
    const answers = [
      await t.http().get('/docs').redirects(1),
      await t.http('operator').get('/fsm/diagram'),
      await t.http('operator').get('/fsm/diagram?format=html'),
      await t.http('operator').get('/metrics'),
    ];
    expect(answers.map((r) => [r.status, String(r.headers['content-type']).split(';')[0]])).toEqual([
      [200, 'text/html'],
      [200, 'image/svg+xml'],
      [200, 'text/html'],
      [200, 'text/plain'],
    ]);
    for (const answer of answers) expect(answer.headers).toEqual(expect.objectContaining(page));
    // The diagram's own Cache-Control stays.
    expect(answers[1].headers['cache-control']).toBe('no-cache');
  });

  it('serves the Swagger UI with a CSP and frame options, under which everything the page loads is allowed', async () => {
    const page = await t.http().get('/docs').redirects(1).expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const csp = Object.fromEntries(
      String(page.headers['content-security-policy'])
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...sources]) => [name, sources]),
    );
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['object-src']).toEqual(["'none'"]);
    expect(csp['upgrade-insecure-requests']).toBeUndefined(); // the service answers plain HTTP

    // No inline script and no inline handler, which script-src 'self' would block; inline styles only
    // where the policy allows them.
    const html = page.text;
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>\s*\S/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    if (/<style|\sstyle=/i.test(html)) expect(csp['style-src']).toContain("'unsafe-inline'");

    // Every script, style sheet and icon it loads: from this origin, there, and of the type its tag
    // needs (with nosniff, a browser refuses a script or a style sheet of another type).
    const origin = new URL(page.request.url).origin;
    const assets = [
      ...[...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/gi)].map((m) => ({ url: m[1], type: /javascript/ })),
      ...[...html.matchAll(/<link[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"/gi)].map((m) => ({ url: m[1], type: /^text\/css/ })),
      ...[...html.matchAll(/<link[^>]*\brel="icon"[^>]*\bhref="([^"]+)"/gi)].map((m) => ({ url: m[1], type: /^image\// })),
    ];
    expect(assets.filter((a) => /javascript/.test(String(a.type))).length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      const url = new URL(asset.url, page.request.url);
      expect(url.origin).toBe(origin);
      const response = await t.http().get(url.pathname).expect(200);
      expect({ url: url.pathname, type: response.headers['content-type'] }).toEqual({ url: url.pathname, type: expect.stringMatching(asset.type) });
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
    // The UI's validator badge would load an image from a third party: it is off.
    const init = assets.find((a) => a.url.endsWith('swagger-ui-init.js'))!;
    expect((await t.http().get(new URL(init.url, page.request.url).pathname)).text).toMatch(/"validatorUrl":\s*null/);
  });

  it('sends the same policy with the SVG of the machine', async () => {
    const response = await t.http('operator').get('/fsm/diagram').expect(200);
    expect(response.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('a rate limit per caller', () => {
  let t: TestApp;
  const LIMIT = 5;

  beforeAll(async () => {
    t = await startTestApp({ relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false, rateLimit: { max: LIMIT, windowMs: 60_000 } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 429 RATE_LIMITED with Retry-After past the limit, applies nothing, and still answers other callers and probes', async () => {
    // Set up as another client, so that the limited caller's bucket starts full.
    const orderId = await createOrder({ http: () => t.http('client2') });

    for (let i = 0; i < LIMIT; i++) {
      const response = await t.http('client').get(`/orders/${orderId}`);
      expect(response.status).toBe(200);
      expect(response.headers['x-ratelimit-remaining']).toBe(String(LIMIT - 1 - i));
    }
    const limited = await t.http('client').post(`/orders/${orderId}/events`).send({ event: 'ACCEPT', requestId: uid('r'), payload: { driverId: 'd-1' } });
    expect(limited.status).toBe(429);
    expect(limited.headers).toEqual(expect.objectContaining({ ...securityHeadersOf(API_SECURITY_HEADER_OPTIONS), 'cache-control': 'no-store' }));
    expect(limited.body).toEqual({ statusCode: 429, code: 'RATE_LIMITED', message: expect.any(String), details: { retryAfterSeconds: expect.any(Number), limit: LIMIT, windowMs: 60_000 } });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The same caller stays refused, however its header is spelled.
    expect((await t.http('client').get(`/orders/${orderId}`)).status).toBe(429);
    expect((await t.http('client').get(`/orders/${orderId}`).set('authorization', bearer('client').replace('Bearer ', 'bearer   '))).status).toBe(429);

    // Another caller has a bucket of its own; a probe is never refused.
    expect((await t.http('payment').get(`/orders/${orderId}`)).status).toBe(200);
    for (let i = 0; i < LIMIT + 2; i++) expect((await t.http().get('/health')).status).toBe(200);
    // Invented tokens open no bucket of their own: they count against the address, so guessing is limited too.
    const guesses = [];
    for (let i = 0; i < LIMIT + 2; i++) guesses.push((await t.http().get(`/orders/${orderId}`).set('authorization', `Bearer invented-${uid('t')}`)).status);
    expect(guesses).toEqual([...Array(LIMIT).fill(401), 429, 429]);

    // The refused event was not applied.
    const order = (await t.http('operator').get(`/orders/${orderId}`).expect(200)).body;
    expect(order).toMatchObject({ state: 'CREATED', version: 1 });
  });
});

describe('a rate limit on requests that match no route', () => {
  let t: TestApp;
  const LIMIT = 5;

  beforeAll(async () => {
    t = await startTestApp({ relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false, rateLimit: { max: LIMIT, windowMs: 60_000 } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('counts unknown paths, unknown methods and OPTIONS like any request, so tokens cannot be guessed there without limit', async () => {
    // Wrong tokens on a path with no route: 401 until the address's bucket is empty, then 429.
    const guesses = [];
    for (let i = 0; i < LIMIT + 2; i++) guesses.push((await t.http().get(`/no-such-path-${i}`).set('authorization', `Bearer invented-${uid('t')}`)).status);
    expect(guesses).toEqual([...Array(LIMIT).fill(401), 429, 429]);
    const limited = await t.http().options('/orders/any').set('authorization', `Bearer invented-${uid('t')}`);
    expect(limited.status).toBe(429);
    expect(limited.headers).toEqual(expect.objectContaining({ ...securityHeadersOf(API_SECURITY_HEADER_OPTIONS), 'retry-after': expect.any(String) }));
    expect(limited.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED', details: { limit: LIMIT, windowMs: 60_000 } });

    // A known caller's 404s and 405s count against its own bucket, as its routed requests do.
    const answers = [];
    for (const [method, path] of [['get', '/no-such-path'], ['delete', '/orders/any'], ['options', '/orders/any'], ['patch', '/health/nothing'], ['get', '/orders/any/nothing']] as const) {
      const response = await t.http('client')[method](path);
      answers.push([response.status, response.headers['x-ratelimit-remaining']]);
    }
    expect(answers).toEqual([[404, '4'], [405, '3'], [405, '2'], [404, '1'], [404, '0']]);
    const refused = await t.http('client').get('/no-such-path');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED' });
    // Routed requests share that bucket.
    expect((await t.http('client').get('/orders/any')).status).toBe(429);
    expect((await t.http('payment').get('/no-such-path')).status).toBe(404);
  });

  it('lets a known caller scrape /metrics without limit, and counts wrong tokens there against the address', async () => {
    for (let i = 0; i < LIMIT + 2; i++) expect((await t.http('operator').get('/metrics')).status).toBe(200);
    // /metrics takes a token: 401 for a wrong one, 200 or 403 for a right one. Guessing there is limited too:
    // 401 until the address's bucket is empty (whatever the tests before left in it), then 429 for good.
    const guesses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) guesses.push((await t.http().get('/metrics').set('authorization', `Bearer invented-${uid('t')}`)).status);
    const first429 = guesses.indexOf(429);
    expect(first429).toBeGreaterThanOrEqual(0);
    expect(guesses).toEqual([...Array(first429).fill(401), ...Array(guesses.length - first429).fill(429)]);
    expect((await t.http().get('/health')).status).toBe(200);
  });
});
