import { Injectable, Module } from '@nestjs/common';
import { AbstractStateProcessor, type Checker, type CheckerPlan, defineMachine, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { taxiMachineSpec } from '../apps/order-service/src/taxi/taxi.machine.js';
import { deleteTopology, uniquePrefix, waitFor } from './support/broker.js';
import { asCaller } from './support/callers.js';
import { checkMetrics } from './support/promtool.js';
import { advance, createOrder, sendEvent, TO_FEE_CONFIRMED, uid } from './support/taxi-client.js';
import { sample, seriesOf, total } from './support/prometheus.js';
import { openDatabase, sql } from './support/database.js';
import { startTestApp, testRedis, type TestApp } from './support/test-app.js';

// The taxi machine, plus a create any bizCode and sceneId may use and an event whose checker
// refuses with whatever reason it is sent: the inputs a hostile or buggy caller controls.
const taxi = taxiMachineSpec();
const machine = defineMachine({
  ...taxi,
  transitions: [...taxi.transitions, { from: 'INIT' as const, event: 'TEST_OPEN', to: 'CREATED' as const }, { from: 'CREATED' as const, event: 'TEST_REFUSE', to: 'ACCEPTED' as const }],
  events: { ...taxi.events, TEST_OPEN: { sentBy: 'client' }, TEST_REFUSE: { sentBy: 'client' } },
});

@Injectable()
class EchoReasonChecker implements Checker<{ payload: { reason?: string } }> {
  check(ctx: StateContext<{ payload: { reason?: string } }>): ServiceResult {
    return ServiceResult.fail(String(ctx.payload?.reason), 'refused as asked');
  }
}

@OrderProcessor({ state: 'INIT', event: 'TEST_OPEN' })
class OpenAnyProcessor extends AbstractStateProcessor {
  getNextState(): string {
    return 'CREATED';
  }
  action(): ServiceResult {
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: 'CREATED', event: 'TEST_REFUSE' })
class RefuseProcessor extends AbstractStateProcessor<{ payload: { reason?: string } }> {
  constructor(private readonly echo: EchoReasonChecker) {
    super();
  }
  override checkers(): CheckerPlan<{ payload: { reason?: string } }> {
    return { param: [this.echo] };
  }
  getNextState(): 'ACCEPTED' {
    return 'ACCEPTED';
  }
  action(): ServiceResult {
    return ServiceResult.ok();
  }
}

@Module({ providers: [EchoReasonChecker, OpenAnyProcessor, RefuseProcessor] })
class HostileInputModule {}

describe('GET /metrics: Prometheus', () => {
  const prefix = uniquePrefix('metrics');
  let t: TestApp;
  beforeAll(async () => {
    // Messages other suites left unpublished (their relay was off) are theirs: published here, their
    // work would reach this app's worker, whose events would land between two scrapes of a test.
    const db = await openDatabase({ engineSchema: true });
    try {
      const now = new Date();
      await sql(db, 'UPDATE fsm_outbox SET published_at = ? WHERE published_at IS NULL AND created_at < ?', [now, now]);
    } finally {
      await db.destroy();
    }
    // No timers or sweeps: they would send events of their own (left due by other suites) between two scrapes.
    t = await startTestApp({ amqpPrefix: prefix, timersEnabled: false, sweeperEnabled: false }, { modules: [HostileInputModule], machine });
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  const scrape = async () => {
    const response = await t.http('operator').get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text;
  };
  const deltaOf = (before: string, after: string) => (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);

  it('counts events by event and outcome, their latency and lock waits; an undeclared event is one label', async () => {
    const before = await scrape();
    const orderId = await createOrder(t);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    expect((await sendEvent(t, orderId, 'END_TRIP', { distanceKm: 3 })).status).toBe(409);
    expect((await sendEvent(t, orderId, 'NO_SUCH_EVENT_1')).status).toBe(409);
    expect((await sendEvent(t, orderId, 'NO_SUCH_EVENT_2')).status).toBe(409);
    const after = await scrape();
    const delta = deltaOf(before, after);
    expect(delta('order_fsm_events_total', { event: 'ACCEPT', outcome: 'applied' })).toBe(1);
    expect(delta('order_fsm_events_total', { event: 'CREATE', outcome: 'applied' })).toBe(1);
    expect(delta('order_fsm_events_total', { event: 'END_TRIP', outcome: 'NOT_FOUND_PROCESSOR' })).toBe(1);
    expect(delta('order_fsm_events_total', { event: 'undeclared', outcome: 'NOT_FOUND_PROCESSOR' })).toBe(2);
    expect(after).not.toContain('NO_SUCH_EVENT');
    expect(delta('order_fsm_event_duration_seconds_count', { event: 'ACCEPT' })).toBe(1);
    // Each of the five took the lock: nothing else waited for it.
    expect(delta('order_fsm_lock_wait_seconds_count', { outcome: 'acquired' })).toBe(5);
    expect(delta('order_fsm_lock_wait_seconds_count')).toBe(5);
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('counts transitions by from, to, event, bizCode, sceneId and source', async () => {
    const before = await scrape();
    const orderId = await createOrder(t, { bizCode: 'PREMIUM', sceneId: 'H5' });
    await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    const after = await scrape();
    const delta = deltaOf(before, after);
    expect(delta('order_fsm_transitions_total', { from_state: 'INIT', to_state: 'CREATED', event: 'CREATE', biz_code: 'PREMIUM', scene_id: 'H5', source: 'api' })).toBe(1);
    expect(delta('order_fsm_transitions_total', { from_state: 'CREATED', to_state: 'ACCEPTED', event: 'ACCEPT', biz_code: 'PREMIUM', scene_id: 'H5', source: 'api' })).toBe(1);
    expect(delta('order_fsm_transitions_total')).toBe(2);
  });

  it("counts refusals by code and the checker's reason; codes without one have the reason none", async () => {
    const before = await scrape();
    const orderId = await createOrder(t);
    expect((await sendEvent(t, orderId, 'ACCEPT', { driverId: '' })).body.code).toBe('CHECK_FAILED');
    expect((await sendEvent(t, orderId, 'END_TRIP', { distanceKm: 3 })).body.code).toBe('NOT_FOUND_PROCESSOR');
    expect((await sendEvent(t, uid('missing'), 'ACCEPT', { driverId: 'd-1' })).body.code).toBe('ORDER_NOT_FOUND');
    const after = await scrape();
    const delta = deltaOf(before, after);
    expect(delta('order_fsm_refusals_total', { event: 'ACCEPT', code: 'CHECK_FAILED', reason: 'INVALID_DRIVER_ID', source: 'api' })).toBe(1);
    expect(delta('order_fsm_refusals_total', { event: 'END_TRIP', code: 'NOT_FOUND_PROCESSOR', reason: 'none', source: 'api' })).toBe(1);
    expect(delta('order_fsm_refusals_total', { event: 'ACCEPT', code: 'ORDER_NOT_FOUND', reason: 'none', source: 'api' })).toBe(1);
    expect(delta('order_fsm_refusals_total')).toBe(3);
  });

  it('keeps the series bounded whatever a caller sends: bizCodes, sceneIds, sources, events, reasons and URLs are folded', async () => {
    const client = asCaller('client');
    /** One round of distinct hostile values: `n` of each, all new. */
    const tags: string[] = [];
    const round = async (n: number) => {
      // Short: a source is at most 16 characters in the log.
      const tag = `h${randomUUID().slice(0, 6)}`;
      tags.push(tag);
      for (let i = 0; i < n; i++) {
        const created = await t.engine.createOrder({ bizCode: `${tag}-biz-${i}`, sceneId: `${tag}-scene-${i}`, event: 'TEST_OPEN', requestId: uid('r'), source: `${tag}-s${i}`, caller: client });
        const response = await sendEvent(t, created.orderId, 'TEST_REFUSE', { reason: `${tag}-reason-${i}` });
        expect(response.body).toMatchObject({ code: 'CHECK_FAILED', details: { reason: `${tag}-reason-${i}` } });
        expect((await sendEvent(t, created.orderId, `${tag}-event-${i}`)).status).toBe(409);
        expect((await t.http().get(`/orders/${tag}-order-${i}`)).status).toBe(404);
        expect((await t.http().get(`/${tag}-path-${i}`)).status).toBe(404);
      }
    };
    const watched = ['order_fsm_transitions_total', 'order_fsm_refusals_total', 'order_fsm_events_total', 'order_fsm_event_duration_seconds_count', 'http_request_duration_seconds_count'];
    const seriesCount = (text: string) => watched.reduce((sum, name) => sum + seriesOf(text, name).length, 0);

    // A scrape first: its own request is counted after it answers.
    await scrape();
    await round(2);
    const first = await scrape();
    await round(40);
    const after = await scrape();
    // Forty more of each distinct value made no series: each lands in one made by the first round.
    expect(seriesCount(after)).toBe(seriesCount(first));
    for (const tag of tags) expect(after).not.toContain(tag);
    const delta = deltaOf(first, after);
    expect(delta('order_fsm_transitions_total', { from_state: 'INIT', to_state: 'CREATED', event: 'TEST_OPEN', biz_code: 'other', scene_id: 'other', source: 'other' })).toBe(40);
    expect(delta('order_fsm_refusals_total', { event: 'TEST_REFUSE', code: 'CHECK_FAILED', reason: 'other', source: 'api' })).toBe(40);
    expect(delta('order_fsm_refusals_total', { event: 'undeclared', code: 'NOT_FOUND_PROCESSOR', reason: 'none', source: 'api' })).toBe(40);
    expect(delta('http_request_duration_seconds_count', { method: 'GET', route: '/orders/:orderId', status_code: '404' })).toBe(40);
    expect(delta('http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(40);
  });

  it('times HTTP requests by method, route template and status, refusals before the controller included', async () => {
    const before = await scrape();
    const orderId = await createOrder(t);
    expect((await t.http().get(`/orders/${orderId}`)).status).toBe(200);
    expect((await request(t.app.getHttpServer()).get(`/orders/${orderId}`)).status).toBe(401);
    const after = await scrape();
    const delta = deltaOf(before, after);
    expect(delta('http_request_duration_seconds_count', { method: 'POST', route: '/orders', status_code: '201' })).toBe(1);
    expect(delta('http_request_duration_seconds_count', { method: 'GET', route: '/orders/:orderId', status_code: '200' })).toBe(1);
    expect(delta('http_request_duration_seconds_count', { method: 'GET', route: '/orders/:orderId', status_code: '401' })).toBe(1);
    expect(delta('http_request_duration_seconds_bucket', { method: 'GET', route: '/orders/:orderId', status_code: '200', le: '+Inf' })).toBe(1);
    expect(total(after, 'http_request_duration_seconds_sum', { method: 'GET', route: '/orders/:orderId', status_code: '200' })).toBeGreaterThan(0);
    expect(after).not.toContain(orderId);
  });

  it('counts lock waits by outcome: taken from Redis, handed off in this process, busy', async () => {
    const orderId = await createOrder(t);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    let before = await scrape();
    // Eight events at once: the first takes the lock from Redis, the seven queued behind it in this process get it handed on.
    const sent = Array.from({ length: 8 }, () => t.engine.sendEvent({ eventType: 'ARRIVE', orderId, requestId: uid('r'), caller: asCaller('client') }).then(() => 'ok', (e: { code?: string }) => e.code));
    const outcomes = await Promise.all(sent);
    expect(outcomes.filter((outcome) => outcome === 'ok').length).toBeGreaterThanOrEqual(1);
    let after = await scrape();
    let delta = deltaOf(before, after);
    expect(delta('order_fsm_lock_wait_seconds_count', { outcome: 'acquired' })).toBe(1);
    // On a machine loaded enough, the last of the queue can outwait LOCK_WAIT_MS: counted busy, answered ORDER_BUSY.
    const busy = outcomes.filter((outcome) => outcome === 'ORDER_BUSY').length;
    expect(busy).toBeLessThan(7);
    expect(delta('order_fsm_lock_wait_seconds_count', { outcome: 'handed_off' })).toBe(7 - busy);
    expect(delta('order_fsm_lock_wait_seconds_count', { outcome: 'busy' })).toBe(busy);

    // Held elsewhere (another instance's token) past the wait: ORDER_BUSY.
    const redis = testRedis();
    try {
      await redis.set(`order-fsm:lock:${orderId}`, 'another-instance', 'PX', 30_000);
      before = await scrape();
      expect((await sendEvent(t, orderId, 'START_TRIP')).body.code).toBe('ORDER_BUSY');
      after = await scrape();
    } finally {
      await redis.del(`order-fsm:lock:${orderId}`);
      redis.disconnect();
    }
    delta = deltaOf(before, after);
    expect(delta('order_fsm_lock_wait_seconds_count', { outcome: 'busy' })).toBe(1);
    expect(delta('order_fsm_lock_wait_seconds_sum', { outcome: 'busy' })).toBeGreaterThanOrEqual(t.config.lock.waitMs / 1000 - 0.05);
    expect(delta('order_fsm_refusals_total', { event: 'START_TRIP', code: 'ORDER_BUSY', reason: 'none' })).toBe(1);
  });

  it('reports the outbox: backlog and age on each scrape, and what the relay published with its lag', async () => {
    const before = await scrape();
    await createOrder(t);
    await waitFor('the relay to publish', async () => (sample(await scrape(), 'order_fsm_outbox_published_total') ?? 0) > (sample(before, 'order_fsm_outbox_published_total') ?? 0));
    const after = await scrape();
    expect(sample(after, 'order_fsm_outbox_backlog')).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'order_fsm_outbox_oldest_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'order_fsm_outbox_lag_seconds_count')).toBeGreaterThan(0);
  });

  it('counts the verdicts of automatic work, and the transitions the worker made', async () => {
    const before = await scrape();
    const orderId = await createOrder(t, { sceneId: 'ENTERPRISE' });
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, orderId, event, payload);
    await waitFor('the order to close by itself', async () => (await t.engine.findOrder(orderId))?.state === 'CLOSED');
    const text = await scrape();
    expect(sample(text, 'order_fsm_work_total', { event: 'AUTO_PAY', verdict: 'done' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'order_fsm_work_total', { event: 'CLOSE', verdict: 'done' })).toBeGreaterThanOrEqual(1);
    const delta = deltaOf(before, text);
    expect(delta('order_fsm_transitions_total', { from_state: 'FEE_CONFIRMED', to_state: 'PAID', event: 'AUTO_PAY', biz_code: 'EXPRESS', scene_id: 'ENTERPRISE', source: 'worker' })).toBe(1);
    expect(delta('order_fsm_transitions_total', { to_state: 'CLOSED', event: 'CLOSE', scene_id: 'ENTERPRISE', source: 'worker' })).toBe(1);
  });

  it('passes promtool check metrics, every metric of the service included', async () => {
    // A transition, a refusal and a lock wait of its own, so that every kind of series is in the text.
    const orderId = await createOrder(t);
    expect((await sendEvent(t, orderId, 'ACCEPT', { driverId: '' })).body.code).toBe('CHECK_FAILED');
    const text = await scrape();
    for (const name of ['order_fsm_transitions_total', 'order_fsm_refusals_total', 'order_fsm_lock_wait_seconds_bucket', 'http_request_duration_seconds_bucket', 'nodejs_heap_size_used_bytes']) {
      expect(seriesOf(text, name).length).toBeGreaterThan(0);
    }
    const { code, output } = await checkMetrics(text);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
