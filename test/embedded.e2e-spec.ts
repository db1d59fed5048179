import { ORDER_LOCK, ORDER_STORE } from '@order-fsm/core';
import { InProcessMessaging, InProcessOrderLock } from '@order-fsm/core/in-process';
import { SqliteOrderStore } from '@order-fsm/core/sqlite';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { loadServiceConfig } from '../apps/order-service/src/config/service-config.js';
import { MESSAGING } from '../apps/order-service/src/infrastructure/messaging.module.js';
import { waitFor } from './support/broker.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { advance, createOrder, newPassenger, postOrder, sendEvent, TO_FEE_CONFIRMED, transitionsOf, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { asCaller } from './support/callers.js';

/** The environment of a fresh machine: none of the three services is named, and no callers. */
const NOTHING_RUNNING = { DATABASE_URL: '', REDIS_URL: '', AMQP_URL: '', API_TOKENS: '' };

/** The tokens a first run made and printed, by role. */
function printedTokens(output: string): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { role?: string; token?: string };
    if (entry.role && entry.token) tokens[entry.role] = entry.token;
  }
  return tokens;
}

describe('the first run: `npm start` with nothing else running', () => {
  let service: ServiceProcess;
  beforeAll(async () => {
    service = await startServiceProcess({ ...NOTHING_RUNNING, WORKER_RETRY_DELAYS_MS: '100' });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('says in its first line that it runs embedded, and how to leave it', () => {
    const first = service.output().split('\n')[0];
    expect(first).toContain('embedded mode: SQLite in memory (sql.js), an in-process lock and an in-process queue');
    expect(first).toContain('set DATABASE_URL, REDIS_URL and AMQP_URL');
  });

  it('makes a token per role, prints them, and answers 401 without one', async () => {
    const tokens = printedTokens(service.output());
    expect(Object.keys(tokens).sort()).toEqual(['client', 'operator', 'payment']);
    expect(service.output()).toContain('set API_TOKENS (name:role:token,...)');
    const url = `http://127.0.0.1:${service.port}`;
    expect((await request(url).get('/orders/x')).status).toBe(401);
    expect((await request(url).get('/orders/x').set('Authorization', `Bearer ${tokens.client}`)).status).toBe(404);
  });

  it('is healthy without Redis or RabbitMQ, and serves a whole ride', async () => {
    const tokens = printedTokens(service.output());
    const http = (who: string = 'client') => request.agent(`http://127.0.0.1:${service.port}`).set('Authorization', `Bearer ${tokens[who]}`);
    expect((await http().get('/health').expect(200)).body).toEqual({ status: 'ok' });
    const health = await http('operator').get('/health/ready').expect(200);
    expect(Object.keys(health.body.details).sort()).toEqual(['database', 'outbox']);

    const passengerId = uid('p');
    await http().put(`/passengers/${passengerId}`).send({ name: 'Ann' }).expect(200);
    const t = { http };
    const orderId = await createOrder(t, { passengerId });
    for (const [event, payload] of [...TO_FEE_CONFIRMED, ['PAY', { paymentId: uid('pay') }], ['CLOSE', {}]] as const) {
      await advance(t, orderId, event, payload);
    }
    const log = await transitionsOf(t, orderId);
    expect(log.map((e) => e.toState)).toEqual(['CREATED', 'ACCEPTED', 'ARRIVED', 'IN_TRIP', 'TRIP_ENDED', 'FEE_CONFIRMED', 'PAID', 'CLOSED']);
  });

  it('pays an ENTERPRISE ride by itself, through the in-process queue', async () => {
    const tokens = printedTokens(service.output());
    const http = (who: string = 'client') => request.agent(`http://127.0.0.1:${service.port}`).set('Authorization', `Bearer ${tokens[who]}`);
    const t = { http };
    const orderId = await createOrder(t, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' });
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, orderId, event, payload);
    await waitFor('the order CLOSED', async () => (await http().get(`/orders/${orderId}`)).body.state === 'CLOSED', 30_000);
    const log = await transitionsOf(t, orderId);
    expect(log.slice(-2).map((e) => [e.event, e.toState, e.source])).toEqual([
      ['AUTO_PAY', 'PAID', 'worker'],
      ['CLOSE', 'CLOSED', 'worker'],
    ]);
  });
});

describe('embedded adapters under the same engine', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ mode: 'embedded', workerRetryDelaysMs: [50] });
  });
  afterAll(async () => {
    await t.close();
  });

  it('are the ones the service chose', () => {
    expect(t.dataSource.options.type).toBe('sqljs');
    expect(t.app.get(MESSAGING)).toBeInstanceOf(InProcessMessaging);
    expect(t.app.get(ORDER_LOCK)).toBeInstanceOf(InProcessOrderLock);
    expect(t.app.get(ORDER_STORE)).toBeInstanceOf(SqliteOrderStore);
  });

  it('apply one of 20 concurrent conflicting events on a hot order, and answer the rest cleanly', async () => {
    const orderId = await createOrder(t);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => sendEvent(t, orderId, 'ACCEPT', { driverId: `d-${i}` })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const log = await transitionsOf(t, orderId);
    expect(log.map((e) => e.event)).toEqual(['CREATE', 'ACCEPT']);
    expect((await t.http().get(`/orders/${orderId}`)).body).toMatchObject({ state: 'ACCEPTED', version: 2 });
  });

  it('replay a request id, and refuse it with another body', async () => {
    const passengerId = await newPassenger(t);
    const requestId = uid('create');
    const first = await postOrder(t, { passengerId, requestId });
    const again = await postOrder(t, { passengerId, requestId });
    expect(again.status).toBe(first.status);
    expect(again.body).toEqual(first.body);
    const other = await postOrder(t, { passengerId, requestId, bizCode: 'TAXI' });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('fence a writer that read a stale order: VERSION_CONFLICT and nothing written', async () => {
    const orderId = await createOrder(t);
    const stale = (await t.engine.findOrder(orderId))!;
    await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
    await expect(t.engine.sendEvent({ eventType: 'CANCEL', orderId, requestId: uid('r'), caller: asCaller('client') }, stale)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    expect((await transitionsOf(t, orderId)).map((e) => e.event)).toEqual(['CREATE', 'ACCEPT']);
  });

  it('roll back the order when a processor save() fails: a payment id used twice', async () => {
    const paymentId = uid('pay');
    const first = await createOrder(t);
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, first, event, payload);
    await advance(t, first, 'PAY', { paymentId });
    const second = await createOrder(t);
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, second, event, payload);
    const refused = await sendEvent(t, second, 'PAY', { paymentId });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'CHECK_FAILED', details: { reason: 'PAYMENT_ALREADY_RECORDED', step: 'save' } });
    expect((await t.http().get(`/orders/${second}`)).body).toMatchObject({ state: 'FEE_CONFIRMED', version: 6 });
  });

  it('publish every status message once, in version order', async () => {
    const messaging = t.app.get(MESSAGING) as InProcessMessaging;
    const orderId = await createOrder(t);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd' });
    await advance(t, orderId, 'CANCEL', {});
    await waitFor('three status messages', async () => messaging.recent().filter((m) => m.orderId === orderId).length === 3, 10_000);
    expect(messaging.recent().filter((m) => m.orderId === orderId).map((m) => [m.version, m.toState])).toEqual([
      [1, 'CREATED'],
      [2, 'ACCEPTED'],
      [3, 'CANCELLED'],
    ]);
  });
});

describe('embedded, in a file (SQLITE_FILE)', () => {
  it('keeps orders across a restart', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'order-fsm-sqlite-')), 'orders.sqlite');
    const first = await startTestApp({ mode: 'embedded', sqliteFile: file, workerEnabled: false });
    let orderId: string;
    try {
      orderId = await createOrder(first);
      await advance(first, orderId, 'ACCEPT', { driverId: 'd-1' });
    } finally {
      await first.close();
    }
    const second = await startTestApp({ mode: 'embedded', sqliteFile: file, workerEnabled: false });
    try {
      expect((await second.http().get(`/orders/${orderId}`).expect(200)).body).toMatchObject({ state: 'ACCEPTED', version: 2 });
      await advance(second, orderId, 'ARRIVE');
      expect((await transitionsOf(second, orderId)).map((e) => e.event)).toEqual(['CREATE', 'ACCEPT', 'ARRIVE']);
    } finally {
      await second.close();
    }
  });
});

describe('npm run demo', () => {
  it('drives a ride, a cancellation and an ENTERPRISE ride through REST and prints their timelines', async () => {
    const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, ['dist/apps/order-service/src/demo.js'], { env: { ...process.env, ...NOTHING_RUNNING }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.on('exit', (exitCode) => resolve({ stdout: out, code: exitCode }));
    });
    expect(code).toBe(0);
    expect(stdout).toContain('the taxi service, embedded');
    const timelines = stdout.split('\n\n').filter((block) => block.includes('  order '));
    expect(timelines.map((block) => block.split('\n')[0].replace(/  order .*/, ''))).toEqual([
      'A whole ride (EXPRESS@APP)',
      'A cancellation after the driver arrived (fee 300 cents)',
      'An ENTERPRISE ride the company pays by itself (PREMIUM@ENTERPRISE)',
    ]);
    const lastStates = timelines.map((block) => /-> (\S+)\s+\((\w+)\)$/.exec(block.trim().split('\n').pop()!)!.slice(1));
    expect(lastStates).toEqual([
      ['CLOSED', 'api'],
      ['CANCELLED', 'api'],
      ['CLOSED', 'worker'],
    ]);
  });
});

describe('choosing the mode', () => {
  it('runs embedded with none of the URLs, external with all three, and refuses a mix', () => {
    expect(loadServiceConfig({}).mode).toBe('embedded');
    const external = { DATABASE_URL: 'mysql://h/db', REDIS_URL: 'redis://h', AMQP_URL: 'amqp://h' };
    expect(loadServiceConfig({ ...external, API_TOKENS: 'a:client:token-0123456789ab' }).mode).toBe('external');
    expect(() => loadServiceConfig({ DATABASE_URL: 'mysql://h/db' })).toThrow(
      'DATABASE_URL set but REDIS_URL and AMQP_URL not: set all three to use real services, or none to run embedded',
    );
  });

  it('needs API_TOKENS on real services, and makes one caller per role when embedded without it', () => {
    const external = { DATABASE_URL: 'mysql://h/db', REDIS_URL: 'redis://h', AMQP_URL: 'amqp://h' };
    expect(() => loadServiceConfig(external)).toThrow(/API_TOKENS is not set: .* name:role:token/);
    const embedded = loadServiceConfig({});
    expect(embedded.callersGenerated).toBe(true);
    expect(embedded.callers.map((c) => [c.name, c.role])).toEqual([
      ['local-client', 'client'],
      ['local-payment', 'payment'],
      ['local-operator', 'operator'],
    ]);
    expect(new Set(embedded.callers.map((c) => c.token)).size).toBe(3);
    expect(loadServiceConfig({}).callers[0].token).not.toBe(embedded.callers[0].token);
    const chosen = loadServiceConfig({ API_TOKENS: ' app1:client:s3cr3t-s3cr3t-s3cr3t, pay:payment:p4y:p4y-p4y-p4y-p4y ' });
    expect([chosen.callersGenerated, chosen.callers]).toEqual([
      false,
      [
        { name: 'app1', role: 'client', token: 's3cr3t-s3cr3t-s3cr3t' },
        { name: 'pay', role: 'payment', token: 'p4y:p4y-p4y-p4y-p4y' },
      ],
    ]);
    for (const [raw, problem] of [
      ['app1:client', /must be name:role:token/],
      ['app1:admin:token-0123456789ab', /the role must be one of client, payment, operator, not "admin"/],
      ['@system:client:token-0123456789ab', /the name "@system" must be/],
      ['a:client:token-0123456789ab,a:payment:token-0123456789cd', /the name a is used twice/],
      ['a:client:token-0123456789ab,b:payment:token-0123456789ab', /its token is another caller's too/],
      ['a:client:short', /the token must be at least 16 characters/],
      ['a:client:token with spaces in it', /visible ASCII characters, without spaces/],
      ['a:client:tökén-0123456789ab', /visible ASCII characters, without spaces/],
      [',', /names no caller/],
    ] as const) {
      expect(() => loadServiceConfig({ API_TOKENS: raw })).toThrow(problem);
    }
    // An entry that is only a token is refused without showing it.
    expect(() => loadServiceConfig({ API_TOKENS: 'a-bare-secret-token-value' })).toThrow(/entry 1 must be name:role:token/);
    expect(() => loadServiceConfig({ API_TOKENS: 'a-bare-secret-token-value' })).not.toThrow(/a-bare-secret/);
  });
});
