import { derivedRequestId, HELD_SOURCE } from '@order-fsm/core';
import { HeldEventPoller } from '../libs/order-fsm/src/workers/held-event-poller.js';
import { auditQueue, deleteTopology, uniquePrefix, waitFor } from './support/broker.js';
import { sql } from './support/database.js';
import { advance, createOrder, sendEvent, TO_FEE_CONFIRMED, transitionsOf, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

type LateRow = { event: string; state: string; version: number; policy: string; status: string; caller: string; source: string; outcome: string | null; deadline: Date | null };

async function lateEventsOf(t: TestApp, orderId: string): Promise<LateRow[]> {
  const rows = await sql(t.dataSource, 'SELECT event, state, version, policy, status, caller, source, outcome, deadline FROM fsm_late_event WHERE order_id = ? ORDER BY id', [orderId]);
  return (rows as LateRow[]).map((row) => ({ ...row, version: Number(row.version) }));
}

async function lateMessagesOf(t: TestApp, orderId: string): Promise<Array<{ routing_key: string; payload: Record<string, unknown> }>> {
  const rows = (await sql(t.dataSource, "SELECT routing_key, payload FROM fsm_outbox WHERE order_id = ? AND routing_key LIKE '%.late.%' ORDER BY id", [orderId])) as Array<{
    routing_key: string;
    payload: string;
  }>;
  return rows.map((row) => ({ routing_key: row.routing_key, payload: JSON.parse(row.payload) }));
}

const paymentsOf = async (t: TestApp, orderId: string) => sql(t.dataSource, 'SELECT id FROM taxi_payment WHERE order_id = ?', [orderId]);

/** Takes a new order through the given events (TO_FEE_CONFIRMED's first `steps`). */
async function orderAfter(t: TestApp, steps: number): Promise<string> {
  const orderId = await createOrder(t);
  for (const [event, payload] of TO_FEE_CONFIRMED.slice(0, steps)) await advance(t, orderId, event, payload);
  return orderId;
}

describe('late and out-of-order events, as the machine declares them', () => {
  const prefix = uniquePrefix('late');
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ amqpPrefix: prefix, timerPollMs: 50, paymentHoldMs: 60_000 });
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  describe('ignore: a driver who taps "arrived" twice', () => {
    it('answers 200 ignored, moves nothing, records it, and answers a retry the same', async () => {
      const orderId = await orderAfter(t, 2); // ARRIVED
      const requestId = uid('again');
      const second = await sendEvent(t, orderId, 'ARRIVE', {}, { requestId });
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ orderId, event: 'ARRIVE', fromState: 'ARRIVED', toState: 'ARRIVED', version: 3, ignored: true, late: { policy: 'ignore', status: 'ignored' } });
      expect((await t.engine.findOrder(orderId))?.version).toBe(3);
      expect((await transitionsOf(t, orderId)).map((e) => e.event)).toEqual(['CREATE', 'ACCEPT', 'ARRIVE']);
      expect(await lateEventsOf(t, orderId)).toEqual([
        { event: 'ARRIVE', state: 'ARRIVED', version: 3, policy: 'ignore', status: 'ignored', caller: 'test-client', source: 'api', outcome: null, deadline: null },
      ]);
      const retry = await sendEvent(t, orderId, 'ARRIVE', {}, { requestId });
      expect({ status: retry.status, replayed: retry.headers['idempotent-replayed'], body: retry.body }).toEqual({ status: 200, replayed: 'true', body: second.body });
      // The same request id for another request is refused, as for a transition's.
      const reused = await sendEvent(t, orderId, 'ARRIVE', { note: 'other' }, { requestId });
      expect([reused.status, reused.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
      expect(await lateEventsOf(t, orderId)).toHaveLength(1);
    });

    it("shows in the operator's timeline of the order, beside the transitions and who decided them", async () => {
      const orderId = await orderAfter(t, 2);
      await sendEvent(t, orderId, 'ARRIVE').expect(200);
      const { body } = await t.http('operator').get(`/ops/orders/${orderId}`).expect(200);
      expect(body.lateEvents).toMatchObject([{ event: 'ARRIVE', state: 'ARRIVED', version: 3, policy: 'ignore', status: 'ignored', caller: 'test-client', source: 'api', outcome: null }]);
      expect(body.transitions.map((e: { event: string; processor: string | null; machineVersion: number }) => [e.event, e.processor, e.machineVersion])).toEqual([
        ['CREATE', 'CreateOrderProcessor', 2],
        ['ACCEPT', 'AcceptOrderProcessor', 2],
        ['ARRIVE', 'ArriveProcessor', 2],
      ]);
    });

    it('still refuses where the machine declares no policy (ARRIVE before ACCEPT)', async () => {
      const orderId = await createOrder(t);
      const early = await sendEvent(t, orderId, 'ARRIVE');
      expect([early.status, early.body.code]).toEqual([409, 'NOT_FOUND_PROCESSOR']);
      expect(await lateEventsOf(t, orderId)).toEqual([]);
    });
  });

  describe('compensate: a payment after the order was cancelled', () => {
    async function cancelledOrder(): Promise<string> {
      const orderId = await createOrder(t);
      await advance(t, orderId, 'CANCEL');
      return orderId;
    }

    it('runs the refund, records it with its result, sends it as a late-event message, and moves nothing', async () => {
      const audit = await auditQueue(prefix);
      try {
        const orderId = await cancelledOrder();
        const paymentId = uid('pay');
        const late = await sendEvent(t, orderId, 'PAY', { paymentId });
        expect(late.status).toBe(200);
        expect(late.body).toMatchObject({
          fromState: 'CANCELLED',
          toState: 'CANCELLED',
          version: 2,
          late: { policy: 'compensate', status: 'compensated' },
          result: { refund: { paymentId, reason: `order ${orderId} was CANCELLED when payment ${paymentId} arrived` } },
        });
        expect(late.body.ignored).toBeUndefined();
        expect(await paymentsOf(t, orderId)).toEqual([]);
        expect(await lateEventsOf(t, orderId)).toMatchObject([{ event: 'PAY', state: 'CANCELLED', policy: 'compensate', status: 'compensated', caller: 'test-payment' }]);
        const [message] = await lateMessagesOf(t, orderId);
        expect(message).toMatchObject({
          routing_key: 'EXPRESS.APP.late.PAY.compensated',
          payload: { type: 'late-event', orderId, event: 'PAY', state: 'CANCELLED', policy: 'compensate', status: 'compensated', result: { refund: { paymentId } } },
        });
        // The relay publishes it like any status message: the payment service binds the late key.
        const published = await waitFor('the late-event message on the broker', async () => {
          const found = (await audit.drain()).filter((m) => (m as unknown as { type?: string }).type === 'late-event' && m.orderId === orderId);
          return found.length > 0 ? found : undefined;
        });
        expect(published).toHaveLength(1);
      } finally {
        await audit.remove();
      }
    });

    it('refunds once for one request, however many times it is sent at once', async () => {
      const orderId = await cancelledOrder();
      const requestId = uid('pay-once');
      const paymentId = uid('pay');
      const answers = await Promise.all(Array.from({ length: 8 }, () => sendEvent(t, orderId, 'PAY', { paymentId }, { requestId })));
      const ok = answers.filter((a) => a.status === 200);
      // Each either answered (first or replay) or found the order busy and may retry: none refunded twice.
      expect(answers.every((a) => a.status === 200 || (a.status === 409 && a.body.code === 'ORDER_BUSY'))).toBe(true);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      for (const answer of ok) expect(answer.body.result).toEqual(ok[0].body.result);
      expect(ok.filter((a) => a.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
      expect(await lateEventsOf(t, orderId)).toHaveLength(1);
      expect(await lateMessagesOf(t, orderId)).toHaveLength(1);
    });

    it('refuses a late payment its compensation cannot check, and records nothing', async () => {
      const orderId = await cancelledOrder();
      const bad = await sendEvent(t, orderId, 'PAY', { paymentId: '' });
      expect(bad.status).toBe(422);
      expect(bad.body).toMatchObject({ code: 'CHECK_FAILED', details: { reason: 'INVALID_PAYMENT_ID' } });
      expect(await lateEventsOf(t, orderId)).toEqual([]);
      expect(await lateMessagesOf(t, orderId)).toEqual([]);
    });

    it("keeps the machine's sentBy: a client's late PAY is FORBIDDEN, not refunded", async () => {
      const orderId = await cancelledOrder();
      const forged = await sendEvent(t, orderId, 'PAY', { paymentId: uid('pay') }, { as: 'client' });
      expect([forged.status, forged.body.code]).toEqual([403, 'FORBIDDEN']);
      expect(await lateEventsOf(t, orderId)).toEqual([]);
    });
  });

  describe('hold: a payment that arrives before the driver confirmed the fee', () => {
    it('is answered 202 and applies, as its sender sent it, once the fee is confirmed; a retry gets that answer', async () => {
      const orderId = await orderAfter(t, 4); // TRIP_ENDED
      const requestId = uid('early-pay');
      const paymentId = uid('pay');
      const early = await sendEvent(t, orderId, 'PAY', { paymentId }, { requestId });
      expect(early.status).toBe(202);
      expect(early.body).toMatchObject({ fromState: 'TRIP_ENDED', toState: 'TRIP_ENDED', version: 5, late: { policy: 'hold', status: 'held', deadline: expect.any(String) } });
      expect(new Date(early.body.late.deadline).getTime() - Date.now()).toBeGreaterThan(50_000);
      expect(await lateEventsOf(t, orderId)).toMatchObject([{ event: 'PAY', state: 'TRIP_ENDED', policy: 'hold', status: 'held' }]);
      // While it is held, a retry is answered the same 202.
      const stillHeld = await sendEvent(t, orderId, 'PAY', { paymentId }, { requestId });
      expect([stillHeld.status, stillHeld.body.late.status]).toEqual([202, 'held']);

      await advance(t, orderId, 'CONFIRM_FEE');
      await waitFor('the held payment to apply', async () => (await t.engine.findOrder(orderId))?.state === 'PAID');
      const log = await transitionsOf(t, orderId);
      expect(log.at(-1)).toMatchObject({ event: 'PAY', fromState: 'FEE_CONFIRMED', toState: 'PAID', source: 'held', caller: '@system' });
      expect(await paymentsOf(t, orderId)).toEqual([{ id: paymentId }]);
      await waitFor('the held event settled', async () => (await lateEventsOf(t, orderId))[0]?.status === 'released');
      expect((await lateEventsOf(t, orderId))[0].outcome).toBe('applied v7');
      expect((await lateMessagesOf(t, orderId)).map((m) => m.routing_key)).toEqual(['EXPRESS.APP.late.PAY.held', 'EXPRESS.APP.late.PAY.released']);
      // The payment service retrying its first request now learns what became of it.
      const retry = await sendEvent(t, orderId, 'PAY', { paymentId }, { requestId });
      expect(retry.status).toBe(200);
      expect(retry.body).toMatchObject({ event: 'PAY', fromState: 'FEE_CONFIRMED', toState: 'PAID', version: 7, late: { policy: 'hold', status: 'released' }, result: { paymentId } });
    });
  });
});

describe('a held event outlives its instance, and expires at its deadline', () => {
  const prefix = uniquePrefix('late-restart');
  afterAll(() => deleteTopology(prefix));

  it('is released by the next instance once the order reaches a state that takes it', async () => {
    const first = await startTestApp({ amqpPrefix: prefix, timerPollMs: 50 });
    let orderId: string;
    const paymentId = uid('pay');
    try {
      orderId = await orderAfter(first, 4);
      expect((await sendEvent(first, orderId, 'PAY', { paymentId })).status).toBe(202);
    } finally {
      await first.close();
    }
    const second = await startTestApp({ amqpPrefix: prefix, timerPollMs: 50 });
    try {
      await advance(second, orderId, 'CONFIRM_FEE');
      await waitFor('the held payment to apply after the restart', async () => (await second.engine.findOrder(orderId))?.state === 'PAID');
      expect(await paymentsOf(second, orderId)).toEqual([{ id: paymentId }]);
      expect((await transitionsOf(second, orderId)).filter((e) => e.event === 'PAY')).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('is given back when its deadline passes first (onExpiry: compensate): recorded, announced with the refund, and answered to a retry', async () => {
    const t = await startTestApp({ amqpPrefix: prefix, timerPollMs: 50, paymentHoldMs: 300 });
    try {
      const orderId = await orderAfter(t, 4);
      const requestId = uid('too-early');
      const paymentId = uid('pay');
      expect((await sendEvent(t, orderId, 'PAY', { paymentId }, { requestId })).status).toBe(202);
      await waitFor('the hold to expire', async () => (await lateEventsOf(t, orderId))[0]?.status === 'compensated');
      expect((await lateEventsOf(t, orderId))[0]).toMatchObject({ policy: 'hold', outcome: 'its deadline passed with the order in TRIP_ENDED; compensated' });
      const messages = await lateMessagesOf(t, orderId);
      expect(messages.map((m) => m.routing_key)).toEqual(['EXPRESS.APP.late.PAY.held', 'EXPRESS.APP.late.PAY.compensated']);
      // The refund leaves once, in the message the payment service consumes, as for a payment that arrives too late.
      const refund = { paymentId, reason: expect.stringContaining('until its hold expired, the order in TRIP_ENDED') };
      expect(messages[1].payload).toMatchObject({ type: 'late-event', event: 'PAY', policy: 'hold', status: 'compensated', result: { refund } });
      // Confirming the fee now applies nothing held: the order waits for a new payment.
      await advance(t, orderId, 'CONFIRM_FEE');
      expect((await t.engine.findOrder(orderId))?.state).toBe('FEE_CONFIRMED');
      // The payment service retrying its request learns it was given back.
      const retry = await sendEvent(t, orderId, 'PAY', { paymentId }, { requestId });
      expect(retry.status).toBe(200);
      expect(retry.body).toMatchObject({ toState: 'TRIP_ENDED', late: { policy: 'hold', status: 'compensated' }, result: { refund } });
      expect((await t.engine.findOrder(orderId))?.state).toBe('FEE_CONFIRMED');
      expect(await paymentsOf(t, orderId)).toEqual([]);
      expect(await lateMessagesOf(t, orderId)).toHaveLength(2);
    } finally {
      await t.close();
    }
  });

  it('flags the order when a held payment that expired cannot be given back (its compensation refuses it), and settles it refused', async () => {
    const t = await startTestApp({ amqpPrefix: prefix, timerPollMs: 50, paymentHoldMs: 300 });
    try {
      const orderId = await orderAfter(t, 4);
      // Held as sent: nothing checks a held payment until something is done with it.
      expect((await sendEvent(t, orderId, 'PAY', { paymentId: '' })).status).toBe(202);
      await waitFor('the hold to expire', async () => (await lateEventsOf(t, orderId))[0]?.status === 'refused');
      expect((await lateEventsOf(t, orderId))[0].outcome).toMatch(/^CHECK_FAILED: /);
      expect((await lateMessagesOf(t, orderId)).map((m) => m.routing_key)).toEqual(['EXPRESS.APP.late.PAY.held', 'EXPRESS.APP.late.PAY.refused']);
      // Money may wait to be given back by a person: the order says so, flagged in the same transaction.
      expect((await t.engine.findOrder(orderId))?.flag?.reason).toMatch(/^held PAY \(request .+\) refused on its compensation, and what it brought is owed back: CHECK_FAILED: /);
    } finally {
      await t.close();
    }
  });

  it('flags the order when a held payment is refused on its release (its checker says no), since the hold would have given it back', async () => {
    const t = await startTestApp({ amqpPrefix: prefix, timerPollMs: 50 });
    try {
      const orderId = await orderAfter(t, 4);
      expect((await sendEvent(t, orderId, 'PAY', { paymentId: '' })).status).toBe(202);
      await advance(t, orderId, 'CONFIRM_FEE');
      await waitFor('the release refused', async () => (await lateEventsOf(t, orderId))[0]?.status === 'refused');
      expect((await lateEventsOf(t, orderId))[0].outcome).toMatch(/^CHECK_FAILED: /);
      expect((await t.engine.findOrder(orderId))?.flag?.reason).toMatch(/^held PAY \(request .+\) refused on release, and what it brought is owed back: CHECK_FAILED: /);
      expect((await t.engine.findOrder(orderId))?.state).toBe('FEE_CONFIRMED');
    } finally {
      await t.close();
    }
  });

  it('settles a held payment whose release committed unsettled as released when it would expire, never refunding a payment the ride took', async () => {
    // No poller of its own: the test plays the one whose release committed, and which ended before it settled.
    const t = await startTestApp({ amqpPrefix: prefix, timersEnabled: false, paymentHoldMs: 300 });
    try {
      const orderId = await orderAfter(t, 4);
      const paymentId = uid('pay');
      expect((await sendEvent(t, orderId, 'PAY', { paymentId })).status).toBe(202);
      const [{ id }] = await sql(t.dataSource, 'SELECT id FROM fsm_late_event WHERE order_id = ?', [orderId]);
      await advance(t, orderId, 'CONFIRM_FEE');
      const released = await t.engine.sendEvent({
        eventType: 'PAY', orderId, requestId: derivedRequestId('held', Number(id)), orderState: 'FEE_CONFIRMED', payload: { paymentId }, source: HELD_SOURCE,
        caller: { name: 'test-payment', role: 'payment' },
      });
      expect(released.toState).toBe('PAID');
      // Its deadline passes with the order PAID, which takes no payment: the release is what happened.
      await waitFor('the deadline to pass', async () => Date.now() > new Date((await lateEventsOf(t, orderId))[0].deadline!).getTime());
      expect(await t.app.get(HeldEventPoller).releaseDue(new Date(), 1_000)).toBeGreaterThanOrEqual(1);
      expect((await lateEventsOf(t, orderId))[0]).toMatchObject({ status: 'released', outcome: `applied v${released.version}` });
      expect((await lateMessagesOf(t, orderId)).map((m) => m.routing_key)).toEqual(['EXPRESS.APP.late.PAY.held', 'EXPRESS.APP.late.PAY.released']);
      expect(await paymentsOf(t, orderId)).toEqual([{ id: paymentId }]);
    } finally {
      await t.close();
    }
  });

  it('expires without a compensation where the machine does not ask for one on expiry (PAYMENT_HOLD_REFUND=false)', async () => {
    const t = await startTestApp({ amqpPrefix: prefix, timerPollMs: 50, paymentHoldMs: 300, paymentHoldRefund: false });
    try {
      const orderId = await orderAfter(t, 4);
      const requestId = uid('too-early');
      const paymentId = uid('pay');
      expect((await sendEvent(t, orderId, 'PAY', { paymentId }, { requestId })).status).toBe(202);
      await waitFor('the hold to expire', async () => (await lateEventsOf(t, orderId))[0]?.status === 'expired');
      expect((await lateEventsOf(t, orderId))[0].outcome).toBe('its deadline passed with the order in TRIP_ENDED');
      expect((await lateMessagesOf(t, orderId)).map((m) => m.routing_key)).toEqual(['EXPRESS.APP.late.PAY.held', 'EXPRESS.APP.late.PAY.expired']);
      const retry = await sendEvent(t, orderId, 'PAY', { paymentId }, { requestId });
      expect([retry.status, retry.body.late]).toEqual([200, { policy: 'hold', status: 'expired', deadline: expect.any(String) }]);
      expect(retry.body.result).toBeNull();
    } finally {
      await t.close();
    }
  });
});
