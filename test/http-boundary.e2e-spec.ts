import { MAX_PAYLOAD_DEPTH } from '@order-fsm/core';
import request from 'supertest';
import { uniquePrefix } from './support/broker.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { createOrder, uid, type TestAppLike } from './support/taxi-client.js';

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
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: response.status, body: (await response.json()) as { code?: string; message?: string; state?: string } };
  };

  beforeAll(async () => {
    // A process of its own, so that the clients below do not share the server's event loop.
    service = await startServiceProcess({ ...QUIET, AMQP_PREFIX: uniquePrefix('boundary') });
    base = `http://127.0.0.1:${service.port}`;
    client = { http: () => request(base) };
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
        const response = await fetch(`${base}/orders/${orderId}`);
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
    // A read now waits its turn behind the 16 clients' refusals, about 1 ms each: the 100 reads took 7
    // to 15 times as long as without the storm. Before the depth was checked in the parser, each deep
    // body cost the server about 130 ms (a stack overflow, and its stack logged) and the same reads
    // took over 200 times as long. A generous bound between the two:
    expect(during.ms).toBeLessThan(60 * quiet.ms);
    // Nothing was logged: no stack overflow, no 500.
    expect(service.output()).not.toMatch(/RangeError|Maximum call stack|INTERNAL_ERROR|"level":50/);
    const order = (await client.http().get(`/orders/${orderId}`).expect(200)).body;
    expect(order).toMatchObject({ state: 'CREATED', version: 1 });
  });
});
