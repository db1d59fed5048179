import { deleteTopology, uniquePrefix, waitFor } from './support/broker.js';
import { advance, createOrder, sendEvent, TO_FEE_CONFIRMED } from './support/taxi-client.js';
import { sample } from './support/prometheus.js';
import { startTestApp, type TestApp } from './support/test-app.js';

describe('GET /metrics: Prometheus', () => {
  const prefix = uniquePrefix('metrics');
  let t: TestApp;
  beforeAll(async () => {
    // No timers or sweeps: they would send events of their own (left due by other suites) between two scrapes.
    t = await startTestApp({ amqpPrefix: prefix, timersEnabled: false, sweeperEnabled: false });
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

  it('counts events by event and outcome, their latency and lock waits; an undeclared event is one label', async () => {
    const before = await scrape();
    const orderId = await createOrder(t);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    expect((await sendEvent(t, orderId, 'END_TRIP', { distanceKm: 3 })).status).toBe(409);
    expect((await sendEvent(t, orderId, 'NO_SUCH_EVENT_1')).status).toBe(409);
    expect((await sendEvent(t, orderId, 'NO_SUCH_EVENT_2')).status).toBe(409);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(delta('order_fsm_events_total', { event: 'ACCEPT', outcome: 'applied' })).toBe(1);
    expect(delta('order_fsm_events_total', { event: 'CREATE', outcome: 'applied' })).toBe(1);
    expect(delta('order_fsm_events_total', { event: 'END_TRIP', outcome: 'NOT_FOUND_PROCESSOR' })).toBe(1);
    expect(delta('order_fsm_events_total', { event: 'undeclared', outcome: 'NOT_FOUND_PROCESSOR' })).toBe(2);
    expect(after).not.toContain('NO_SUCH_EVENT');
    expect(delta('order_fsm_event_duration_seconds_count', { event: 'ACCEPT' })).toBe(1);
    expect(delta('order_fsm_lock_wait_seconds_count')).toBe(5);
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
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

  it('counts the verdicts of automatic work', async () => {
    const orderId = await createOrder(t, { sceneId: 'ENTERPRISE' });
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, orderId, event, payload);
    await waitFor('the order to close by itself', async () => (await t.engine.findOrder(orderId))?.state === 'CLOSED');
    const text = await scrape();
    expect(sample(text, 'order_fsm_work_total', { event: 'AUTO_PAY', verdict: 'done' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'order_fsm_work_total', { event: 'CLOSE', verdict: 'done' })).toBeGreaterThanOrEqual(1);
  });
});
