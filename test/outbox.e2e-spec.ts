import type { StatusMessage } from '@order-fsm/core';
import { auditQueue, deleteTopology, restartRabbitMq, uniquePrefix, waitFor } from './support/broker.js';
import { advance, createOrder, sendEvent, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { sql } from './support/database.js';

const RIDE: Array<[string, Record<string, unknown>]> = [
  ['ACCEPT', { driverId: 'd-1' }],
  ['ARRIVE', {}],
  ['START_TRIP', {}],
  ['END_TRIP', { distanceKm: 4 }],
  ['CONFIRM_FEE', {}],
];

async function unpublished(t: TestApp, orderIds: string[]): Promise<number> {
  const [row] = await sql(t.dataSource, 'SELECT COUNT(*) AS n FROM fsm_outbox WHERE published_at IS NULL AND order_id IN (?)', [orderIds]);
  return Number(row.n);
}

/** Checks the messages against the log: each committed transition once (after dropping duplicates by id), in version order. */
async function expectExactlyTheLog(t: TestApp, orderIds: string[], messages: StatusMessage[]) {
  const seen = new Set<string>();
  const firstSeen = new Map<string, number[]>();
  let duplicates = 0;
  for (const m of messages) {
    if (!orderIds.includes(m.orderId)) continue;
    if (seen.has(m.messageId)) {
      duplicates++;
      continue;
    }
    seen.add(m.messageId);
    expect(m.messageId).toBe(`${m.orderId}:${m.version}`);
    firstSeen.set(m.orderId, [...(firstSeen.get(m.orderId) ?? []), m.version]);
  }
  for (const orderId of orderIds) {
    const log = (await t.engine.listTransitions(orderId)).map((e) => e.version);
    expect({ orderId, versions: firstSeen.get(orderId) ?? [] }).toEqual({ orderId, versions: log });
  }
  return duplicates;
}

describe('status messages through the outbox', () => {
  const prefix = uniquePrefix('outbox');
  let t: TestApp;
  let audit: Awaited<ReturnType<typeof auditQueue>>;

  beforeAll(async () => {
    audit = await auditQueue(prefix);
    t = await startTestApp({ amqpPrefix: prefix, workerEnabled: false });
  });
  afterAll(async () => {
    await t.close();
    await audit.remove();
    await deleteTopology(prefix);
  });

  it('publishes each transition once, with the snapshot, in version order, to the topic exchange', async () => {
    const orderIds = await Promise.all(Array.from({ length: 10 }, () => createOrder(t, { bizCode: 'TAXI', sceneId: 'H5' })));
    await Promise.all(orderIds.map(async (id) => {
      for (const [event, payload] of RIDE) await advance(t, id, event, payload);
    }));
    await waitFor('the outbox to drain', async () => (await unpublished(t, orderIds)) === 0);
    const messages = await audit.drain();
    const duplicates = await expectExactlyTheLog(t, orderIds, messages);
    expect(duplicates).toBe(0);

    const fee = messages.find((m) => m.orderId === orderIds[0] && m.event === 'CONFIRM_FEE')!;
    expect(fee).toMatchObject({
      messageId: `${orderIds[0]}:6`,
      version: 6,
      fromState: 'TRIP_ENDED',
      toState: 'FEE_CONFIRMED',
      bizCode: 'TAXI',
      sceneId: 'H5',
      source: 'api',
      order: { orderId: orderIds[0], state: 'FEE_CONFIRMED', version: 6, data: { feeCents: 1300 + 920 } },
    });
  });

  it('keeps committing while RabbitMQ restarts, and drains the outbox by itself afterwards: nothing lost, order kept', async () => {
    const orderIds = await Promise.all(Array.from({ length: 12 }, () => createOrder(t)));
    const half = RIDE.slice(0, 2);
    await Promise.all(orderIds.map(async (id) => {
      for (const [event, payload] of half) await advance(t, id, event, payload);
    }));

    let healthWhileDown: { status: number; body: Record<string, any> } | undefined;
    await restartRabbitMq(async () => {
      // The broker is down: transitions still commit, and wait in the outbox.
      await waitFor('the service to notice', async () => !(await t.http('operator').get('/health/ready')).body.info?.rabbitmq);
      await Promise.all(orderIds.map((id) => advance(t, id, 'START_TRIP')));
      expect(await unpublished(t, orderIds)).toBeGreaterThanOrEqual(orderIds.length);
      const health = await t.http('operator').get('/health/ready');
      healthWhileDown = { status: health.status, body: health.body };
    });
    expect(healthWhileDown?.status).toBe(503);
    expect(healthWhileDown?.body.error?.rabbitmq?.status).toBe('down');
    expect(healthWhileDown?.body.details?.outbox?.backlog).toBeGreaterThanOrEqual(orderIds.length);

    await Promise.all(orderIds.map((id) => advance(t, id, 'END_TRIP', { distanceKm: 2 })));
    await waitFor('the outbox to drain after the restart', async () => (await unpublished(t, orderIds)) === 0, 60_000);
    const duplicates = await expectExactlyTheLog(t, orderIds, await audit.drain());
    // Delivery is at least once: a message confirmed just before the connection dropped may come twice.
    console.info(`RabbitMQ restart: ${orderIds.length * 6} transitions, ${duplicates} duplicate message(s)`);

    const health = await waitFor('healthy again', async () => {
      const r = await t.http('operator').get('/health/ready');
      return r.status === 200 && r;
    });
    expect(health.body.details).toMatchObject({
      database: { status: 'up' },
      redis: { status: 'up' },
      rabbitmq: { status: 'up' },
      outbox: { status: 'up', backlog: expect.any(Number) },
    });
  });
});

describe('outbox retention', () => {
  const prefix = uniquePrefix('purge');
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ amqpPrefix: prefix, workerEnabled: false, outboxRetentionMs: 200 });
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  it('purges published messages past their retention, on a schedule', async () => {
    const orderId = await createOrder(t);
    await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd' }, { requestId: uid('r') }).expect(200);
    await waitFor('published', async () => (await unpublished(t, [orderId])) === 0);
    await waitFor('purged', async () => {
      const [row] = await sql(t.dataSource, 'SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ?', [orderId]);
      return Number(row.n) === 0;
    });
  });
});
