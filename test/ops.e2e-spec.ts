import { ORDER_STORE, type OrderStore } from '@order-fsm/core';
import { Sweeper } from '../libs/order-fsm/src/workers/sweeper.js';
import { CompanyAccounts } from '../apps/order-service/src/taxi/company-accounts.js';
import { deleteTopology, uniquePrefix, waitFor } from './support/broker.js';
import { callerName } from './support/callers.js';
import { sql } from './support/database.js';
import { sample } from './support/prometheus.js';
import { advance, createOrder, sendEvent, TO_FEE_CONFIRMED, transitionsOf, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * The operator API (/ops) through the taxi service's REST, on MariaDB (or PostgreSQL), Redis and RabbitMQ: who may
 * use it, what it reads, and every act with its audit: force, pause and resume (against REST, the
 * worker and the timers), events, dead letters, bulk acts and their dry runs, and the metrics.
 */

/** A company account that is down for the orders named, and counts charges. */
class SwitchableCompanyAccounts extends CompanyAccounts {
  readonly down = new Set<string>();
  readonly charges = new Map<string, number>();
  override async charge(_paymentId: string, orderId: string): Promise<void> {
    this.charges.set(orderId, (this.charges.get(orderId) ?? 0) + 1);
    if (this.down.has(orderId)) throw new Error('billing is down');
  }
}

const OPERATOR = callerName('operator');

describe('the operator API', () => {
  const prefix = uniquePrefix('ops');
  const billing = new SwitchableCompanyAccounts();
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(
      // Quick dead letters and timers; no sweeper of its own (sweeps are run by hand where a test needs one).
      { amqpPrefix: prefix, workerRetryDelaysMs: [50, 100], timerPollMs: 50, autoStuckAfterMs: 1_000, sweeperEnabled: false },
      { override: (builder) => builder.overrideProvider(CompanyAccounts).useValue(billing) },
    );
  });
  afterAll(async () => {
    await t.close();
    await deleteTopology(prefix);
  });

  const ops = () => t.http('operator');
  const detail = async (orderId: string) => (await ops().get(`/ops/orders/${orderId}`).expect(200)).body;
  const stateOf = async (orderId: string) => (await t.engine.findOrder(orderId))!.state;
  const scrape = async () => (await ops().get('/metrics').expect(200)).text;
  /** What an order is, whatever an act that was refused may have done: it must have done nothing. */
  const snapshot = async (orderId: string) => {
    const d = await detail(orderId);
    return { order: d.order, transitions: d.transitions.length, actions: d.actions.length, messages: d.messages.length, timers: d.timers.length };
  };

  async function enterpriseAt(events: Array<[string, Record<string, unknown>]>): Promise<string> {
    const orderId = await createOrder(t, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' });
    for (const [event, payload] of events) await advance(t, orderId, event, payload);
    return orderId;
  }

  describe('who may use it', () => {
    const ENDPOINTS: Array<[method: 'get' | 'post', path: string]> = [
      ['get', '/ops/me'],
      ['get', '/ops/machine'],
      ['get', '/ops/orders'],
      ['get', '/ops/orders/o-1'],
      ['post', '/ops/orders/o-1/force'],
      ['post', '/ops/orders/o-1/pause'],
      ['post', '/ops/orders/o-1/resume'],
      ['post', '/ops/orders/o-1/events'],
      ['post', '/ops/orders/o-1/migrate'],
      ['get', '/ops/dead-letters'],
      ['post', '/ops/dead-letters/1/redrive'],
      ['post', '/ops/dead-letters/1/discard'],
      ['get', '/ops/stuck'],
      ['get', '/ops/counts'],
      ['post', '/ops/bulk/force'],
      ['post', '/ops/bulk/pause'],
      ['post', '/ops/bulk/resume'],
      ['post', '/ops/bulk/redrive'],
      ['post', '/ops/bulk/migrate'],
    ];

    it.each(ENDPOINTS)('%s %s: 401 without a token, 403 for the client and payment roles', async (method, path) => {
      const body = { reason: 'who may', toState: 'CANCELLED', filter: { orderIds: ['o-1'] } };
      const anonymous = await t.http().set('Authorization', '')[method](path).send(body);
      expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHENTICATED']);
      for (const who of ['client', 'payment'] as const) {
        const response = await t.http(who)[method](path).send(body);
        expect([who, response.status, response.body.code]).toEqual([who, 403, 'FORBIDDEN']);
        expect(response.body.details).toMatchObject({ allowed: ['operator'] });
      }
      const operator = await ops()[method](path).send(body);
      expect([401, 403]).not.toContain(operator.status);
    });

    it('knows the operator by the name the service gave it', async () => {
      expect((await ops().get('/ops/me').expect(200)).body).toEqual({ name: OPERATOR, role: 'operator' });
    });
  });

  describe('reading', () => {
    it('lists orders newest first, by a keyset, page by page, and by filters', async () => {
      const mine: string[] = [];
      for (let i = 0; i < 5; i++) mine.push(await createOrder(t, { sceneId: 'H5' }));
      const seen: string[] = [];
      let cursor: string | null = null;
      let firstPage: Array<Record<string, unknown>> | undefined;
      // Newest first: this test's orders are on the first pages (every order here is this file's own database's).
      while (mine.some((id) => !seen.includes(id))) {
        const query: Record<string, string> = { state: 'CREATED', sceneId: 'H5', limit: '2', ...(cursor && { cursor }) };
        const page = (await ops().get('/ops/orders').query(query).expect(200)).body;
        firstPage ??= page.items;
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((item: { orderId: string }) => item.orderId));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => mine.includes(id))).toEqual([...mine].reverse());
      // A new order follows the current version of the machine: the taxi machine's v2.
      expect(firstPage![0]).toMatchObject({ orderId: mine[4], state: 'CREATED', version: 1, machineVersion: 2, bizCode: 'EXPRESS', sceneId: 'H5', paused: null, flag: null, autoDueAt: null });
      expect(Object.keys(firstPage![0]!).sort()).toEqual(['autoDueAt', 'bizCode', 'createdAt', 'flag', 'machineVersion', 'orderId', 'paused', 'sceneId', 'state', 'updatedAt', 'version']);

      // Oldest first, and only those changed before a time.
      const third = (await detail(mine[2]!)).order.updatedAt;
      const before = (await ops().get('/ops/orders').query({ sceneId: 'H5', updatedBefore: third, limit: '500' }).expect(200)).body.items.map((i: { orderId: string }) => i.orderId);
      expect(before).toEqual(expect.arrayContaining(mine.slice(0, 2)));
      expect(before).not.toContain(mine[2]);
      // (CREATED orders do not stay: their timer cancels them, so few are older than these.)
      const ascending = (await ops().get('/ops/orders').query({ state: 'CREATED', sceneId: 'H5', order: 'asc', limit: '500' }).expect(200)).body.items.map((i: { orderId: string }) => i.orderId);
      expect(ascending.filter((id: string) => mine.includes(id))).toEqual(mine);
    });

    it.each([
      [{ limit: '0' }, 'limit'],
      [{ limit: '501' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ order: 'sideways' }, 'order'],
      [{ cursor: 'not-a-cursor' }, 'cursor'],
      [{ cursor: Buffer.from('{"a":1}').toString('base64url') }, 'cursor'],
      [{ updatedBefore: 'yesterday' }, 'updatedBefore'],
      [{ updatedBefore: '2030-02-31' }, 'updatedBefore'],
      [{ updatedBefore: '275760-09-13T00:00:00Z' }, 'updatedBefore'],
      [{ paused: 'maybe' }, 'paused'],
      [{ state: 'NOT A STATE!' }, 'state'],
      [{ colour: 'red' }, 'colour'],
      ['state=CREATED&state=ACCEPTED', 'state'],
    ])('refuses a bad query %j with VALIDATION_FAILED naming %s', async (query, field) => {
      const response = await ops().get('/ops/orders').query(query);
      expect([response.status, response.body.code, response.body.details?.field]).toEqual([400, 'VALIDATION_FAILED', field]);
    });

    it.each([
      ['/console/machine', { bizCode: 'X', sceneId: 'Y' }, 'bizCode'],
      ['/console/machine', { bizCode: 'EXPRESS', sceneId: 'MOON' }, 'sceneId'],
      ['/console/diagram.svg', { version: '9', format: 'png', foo: '1' }, 'version'],
      ['/console/diagram.svg', { toString: '1' }, 'toString'],
    ])('refuses a console read %s with a query %j it does not take, naming %s', async (path, query, field) => {
      const response = await ops().get(path).query(query);
      expect([response.status, response.body.code, response.body.details?.field]).toEqual([400, 'VALIDATION_FAILED', field]);
    });

    it('draws the console scope it is asked for', async () => {
      const machine = (await ops().get('/console/machine').query({ bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' }).expect(200)).body;
      expect(machine.scope).toBe('EXPRESS@ENTERPRISE');
      expect((await ops().get('/console/diagram.svg').query({ bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' }).expect(200)).headers['content-type']).toMatch(/^image\/svg\+xml/);
    });

    it("answers an order's timeline: transitions with source, caller, actor and reason; messages and whether each left; timers", async () => {
      const orderId = await createOrder(t);
      await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
      const d = await waitFor('the status messages to be published', async () => {
        const found = await detail(orderId);
        return found.messages.length === 2 && found.messages.every((m: { published: boolean }) => m.published) && found;
      });
      expect(d.order).toMatchObject({ orderId, state: 'ACCEPTED', version: 2, data: expect.objectContaining({ driverId: 'd-1' }) });
      expect(d.automaticWork).toBeNull();
      expect(d.transitions).toEqual([
        expect.objectContaining({ version: 1, event: 'CREATE', fromState: 'INIT', toState: 'CREATED', source: 'api', caller: callerName('client'), actor: callerName('client'), reason: null }),
        expect.objectContaining({ version: 2, event: 'ACCEPT', fromState: 'CREATED', toState: 'ACCEPTED', source: 'api', caller: callerName('client'), actor: callerName('client'), reason: null }),
      ]);
      expect(d.messages.map((m: { messageId: string; kind: string; version: number }) => [m.messageId, m.kind, m.version])).toEqual([
        [`${orderId}:1`, 'status', 1],
        [`${orderId}:2`, 'status', 2],
      ]);
      // The timer CREATE scheduled: the order moved on, so it will never fire. Its row waits until it comes due, but it
      // is shown cancelled now, not pending (which read as a timer still to come).
      expect(d.timers).toEqual([expect.objectContaining({ version: 1, state: 'CREATED', event: 'ACCEPT_TIMEOUT', status: 'cancelled', firedAt: null, outcome: null })]);
      expect(d.deadLetters).toEqual([]);
      expect(d.actions).toEqual([]);
      expect(d.workAttempts).toEqual([]);
    });

    it('answers ORDER_NOT_FOUND for an unknown order and VALIDATION_FAILED for a malformed id', async () => {
      const missing = await ops().get(`/ops/orders/${uid('nope')}`);
      expect([missing.status, missing.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
      const malformed = await ops().get('/ops/orders/not%20an%20id');
      expect([malformed.status, malformed.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });

    it('counts orders per state and bizCode@sceneId, every declared state included', async () => {
      const counts = (await ops().get('/ops/counts').expect(200)).body;
      expect(Object.keys(counts.states).sort()).toEqual(
        ['CREATED', 'ACCEPTED', 'ARRIVED', 'IN_TRIP', 'TRIP_ENDED', 'FEE_CONFIRMED', 'PAID', 'CANCEL_PENDING_PAYMENT', 'CLOSED', 'CANCELLED', 'FRAUD_REVIEW'].sort(),
      );
      expect(counts).toMatchObject({ asOf: expect.any(String), finalAsOf: expect.any(String) });
      const before = (await ops().get('/ops/counts').query({ bizCode: 'PREMIUM', sceneId: 'H5' }).expect(200)).body;
      const orderId = await createOrder(t, { bizCode: 'PREMIUM', sceneId: 'H5' });
      // Counts are kept for a moment, not read on every call: the new order shows once they are read again.
      const after = await waitFor('the count to move', async () => {
        const now = (await ops().get('/ops/counts').query({ bizCode: 'PREMIUM', sceneId: 'H5' }).expect(200)).body;
        return now.states.CREATED === before.states.CREATED + 1 && now;
      });
      expect(after.dimensions).toEqual([expect.objectContaining({ bizCode: 'PREMIUM', sceneId: 'H5', states: expect.objectContaining({ CREATED: after.states.CREATED }) })]);
      // An operator's act is counted at once.
      await ops().post(`/ops/orders/${orderId}/force`).send({ toState: 'CANCELLED', reason: 'counted' }).expect(200);
      const forced = (await ops().get('/ops/counts').query({ bizCode: 'PREMIUM', sceneId: 'H5' }).expect(200)).body;
      expect([forced.states.CREATED, forced.states.CANCELLED]).toEqual([after.states.CREATED - 1, (after.states.CANCELLED ?? 0) + 1]);
      const bad = await ops().get('/ops/counts').query({ bizCode: 'A B' });
      expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });

    it('describes the machine: states (final, automatic), events and transitions', async () => {
      const machine = (await ops().get('/ops/machine').expect(200)).body;
      expect(machine).toMatchObject({ name: 'taxi', initial: 'INIT' });
      expect(machine.states).toContainEqual(expect.objectContaining({ name: 'CLOSED', final: true, automatic: null }));
      expect(machine.states).toContainEqual(expect.objectContaining({ name: 'FEE_CONFIRMED', final: false, automatic: { event: 'AUTO_PAY', bizCode: null, sceneId: 'ENTERPRISE' } }));
      expect(machine.events).toContainEqual({ name: 'PAY', sentBy: ['payment'] });
      expect(machine.transitions).toContainEqual({ from: 'CREATED', event: 'ACCEPT', to: 'ACCEPTED', timer: false });
      expect(machine).toMatchObject({ version: 2, versions: [1, 2] });
      expect(machine.states.map((s: { name: string }) => s.name)).not.toContain('INIT');
    });

    it('describes any served version: version=2 is the current machine, version=1 the one before it, a version not served is 400 naming those served', async () => {
      const current = (await ops().get('/ops/machine').expect(200)).body;
      expect((await ops().get('/ops/machine').query({ version: '2' }).expect(200)).body).toEqual(current);
      const v1 = (await ops().get('/ops/machine').query({ version: '1' }).expect(200)).body;
      expect(v1).toMatchObject({ version: 1, versions: [1, 2] });
      expect(v1.states.map((s: { name: string }) => s.name)).not.toContain('FRAUD_REVIEW');
      expect(current.states.map((s: { name: string }) => s.name)).toContain('FRAUD_REVIEW');
      expect(v1.events.map((e: { name: string }) => e.name)).not.toContain('APPROVE_FEE');
      const unserved = await ops().get('/ops/machine').query({ version: '3' });
      expect(unserved.status).toBe(400);
      expect(unserved.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { fields: [{ field: 'version' }], versions: [1, 2] } });
      for (const query of [{ version: 'one' }, { version: '0' }, { versoin: '1' }]) {
        const bad = await ops().get('/ops/machine').query(query);
        expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      }
    });
  });

  describe('force', () => {
    it('moves an order to any declared state in one audited transition, with its status message; the log says who and why', async () => {
      const before = await scrape();
      const orderId = await createOrder(t);
      const response = await ops().post(`/ops/orders/${orderId}/force`).send({ toState: 'IN_TRIP', reason: 'driver app crashed; ride under way' }).expect(200);
      expect(response.body).toMatchObject({ orderId, event: '@force', fromState: 'CREATED', toState: 'IN_TRIP', version: 2, replayed: false, order: { state: 'IN_TRIP', version: 2 } });

      // GET /orders/:id/transitions, the taxi REST API, shows source, actor and reason on every row.
      const log = (await t.http().get(`/orders/${orderId}/transitions`).expect(200)).body;
      expect(log.map((row: Record<string, unknown>) => [row.event, row.source, row.caller, row.actor, row.reason])).toEqual([
        ['CREATE', 'api', callerName('client'), callerName('client'), null],
        ['@force', 'operator', OPERATOR, OPERATOR, 'driver app crashed; ride under way'],
      ]);
      const d = await waitFor('the status message to be published', async () => {
        const found = await detail(orderId);
        return found.messages.find((m: { version: number; published: boolean }) => m.version === 2 && m.published) && found;
      });
      expect(d.actions).toEqual([
        {
          id: expect.any(Number),
          kind: 'force',
          actor: OPERATOR,
          reason: 'driver app crashed; ride under way',
          at: expect.any(String),
          detail: expect.objectContaining({ fromState: 'CREATED', toState: 'IN_TRIP', version: 2, event: '@force' }),
        },
      ]);
      // The processors of the new state take it from there.
      await advance(t, orderId, 'END_TRIP', { distanceKm: 4 });

      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
      expect(
        delta('order_fsm_transitions_total', { from_state: 'CREATED', to_state: 'IN_TRIP', event: '@force', biz_code: 'EXPRESS', scene_id: 'APP', source: 'operator' }),
      ).toBe(1);
      expect(delta('order_fsm_transitions_total', { from_state: 'IN_TRIP', to_state: 'TRIP_ENDED', event: 'END_TRIP', source: 'api' })).toBe(1);
      expect(delta('order_fsm_operator_actions_total', { kind: 'force', actor: OPERATOR })).toBe(1);
    });

    it('starts the automatic work of the new state, as any transition does', async () => {
      const orderId = await createOrder(t, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' });
      await ops().post(`/ops/orders/${orderId}/force`).send({ toState: 'FEE_CONFIRMED', reason: 'fare agreed by phone' }).expect(200);
      await waitFor('the order to close by itself', async () => (await stateOf(orderId)) === 'CLOSED');
      expect((await transitionsOf(t, orderId)).map((e) => [e.event, e.source])).toEqual([
        ['CREATE', 'api'],
        ['@force', 'operator'],
        ['AUTO_PAY', 'worker'],
        ['CLOSE', 'worker'],
      ]);
    });

    it('applies once per requestId: the same request again is answered as a replay', async () => {
      const orderId = await createOrder(t);
      const body = { toState: 'CANCELLED', reason: 'duplicate booking', requestId: uid('force') };
      await ops().post(`/ops/orders/${orderId}/force`).send(body).expect(200);
      const again = await ops().post(`/ops/orders/${orderId}/force`).send(body).expect(200);
      expect(again.body).toMatchObject({ replayed: true, toState: 'CANCELLED', version: 2 });
      expect(await transitionsOf(t, orderId)).toHaveLength(2);
      expect((await detail(orderId)).actions).toHaveLength(1);
    });

    it('replays a force whose timers were given as delays: the delay is the request, not the time it gives', async () => {
      const orderId = await createOrder(t);
      const body = { toState: 'CREATED', reason: 'give the driver longer', requestId: uid('force'), expectedVersion: 1, timers: [{ event: 'ACCEPT_TIMEOUT', inMs: 600_000 }] };
      await ops().post(`/ops/orders/${orderId}/force`).send(body).expect(200);
      const again = await ops().post(`/ops/orders/${orderId}/force`).send(body).expect(200);
      expect(again.body).toMatchObject({ replayed: true, version: 2 });
      const other = await ops().post(`/ops/orders/${orderId}/force`).send({ ...body, timers: [{ event: 'ACCEPT_TIMEOUT', inMs: 1_000 }] });
      expect([other.status, other.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
      expect(await transitionsOf(t, orderId)).toHaveLength(2);
    });

    it.each([
      ['no reason', { toState: 'CANCELLED' }, 400, 'VALIDATION_FAILED'],
      ['a blank reason', { toState: 'CANCELLED', reason: '   ' }, 400, 'VALIDATION_FAILED'],
      ['a reason too long', { toState: 'CANCELLED', reason: 'x'.repeat(513) }, 400, 'VALIDATION_FAILED'],
      ['a reason that is not text', { toState: 'CANCELLED', reason: 42 }, 400, 'VALIDATION_FAILED'],
      ['no state', { reason: 'r' }, 400, 'VALIDATION_FAILED'],
      ['an undeclared state', { toState: 'ON_THE_MOON', reason: 'r' }, 422, 'STATE_NOT_DECLARED'],
      ['the virtual initial state', { toState: 'INIT', reason: 'r' }, 422, 'STATE_NOT_DECLARED'],
      ['a stale expectedVersion', { toState: 'CANCELLED', reason: 'r', expectedVersion: 7 }, 409, 'ORDER_STATE_NOT_MATCH'],
      ['a bad expectedVersion', { toState: 'CANCELLED', reason: 'r', expectedVersion: -1 }, 400, 'VALIDATION_FAILED'],
      ['a field it does not take', { toState: 'CANCELLED', reason: 'r', force: true }, 400, 'VALIDATION_FAILED'],
      ['a timer the new state does not take', { toState: 'CANCELLED', reason: 'r', timers: [{ event: 'ACCEPT_TIMEOUT', inMs: 10 }] }, 400, 'VALIDATION_FAILED'],
      ['a timer without a time', { toState: 'CREATED', reason: 'r', timers: [{ event: 'ACCEPT_TIMEOUT' }] }, 400, 'VALIDATION_FAILED'],
      // Times no store keeps as given: they failed the commit (a 500) or were read as another day.
      ['a timer in the year 275760', { toState: 'CREATED', reason: 'r', timers: [{ event: 'ACCEPT_TIMEOUT', fireAt: 8_640_000_000_000_000 }] }, 400, 'VALIDATION_FAILED'],
      ['a timer in the year 10000', { toState: 'CREATED', reason: 'r', timers: [{ event: 'ACCEPT_TIMEOUT', fireAt: '+010000-01-01T00:00:00Z' }] }, 400, 'VALIDATION_FAILED'],
      ['a timer before 1970', { toState: 'CREATED', reason: 'r', timers: [{ event: 'ACCEPT_TIMEOUT', fireAt: '0000-01-01T00:00:00Z' }] }, 400, 'VALIDATION_FAILED'],
      ['a timer on a day the month does not have', { toState: 'CREATED', reason: 'r', timers: [{ event: 'ACCEPT_TIMEOUT', fireAt: '2030-02-31T00:00:00Z' }] }, 400, 'VALIDATION_FAILED'],
      ['a timer at a local time with no zone', { toState: 'CREATED', reason: 'r', timers: [{ event: 'ACCEPT_TIMEOUT', fireAt: '2030-01-31T12:00:00' }] }, 400, 'VALIDATION_FAILED'],
      ['a reason with a lone surrogate', { toState: 'CANCELLED', reason: 'by phone \ud800' }, 400, 'VALIDATION_FAILED'],
    ])('refuses %s with a stable code and changes nothing', async (_what, body, status, code) => {
      const orderId = await createOrder(t);
      const before = await snapshot(orderId);
      const response = await ops().post(`/ops/orders/${orderId}/force`).send(body);
      expect([response.status, response.body.code]).toEqual([status, code]);
      expect(await snapshot(orderId)).toEqual(before);
    });

    it('refuses an unknown order with ORDER_NOT_FOUND, and a body that is not an object', async () => {
      const missing = await ops().post(`/ops/orders/${uid('nope')}/force`).send({ toState: 'CANCELLED', reason: 'r' });
      expect([missing.status, missing.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
      const list = await ops().post(`/ops/orders/${uid('nope')}/force`).send([1, 2]);
      expect([list.status, list.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });
  });

  describe('pause and resume', () => {
    it('a paused order refuses every event with ORDER_PAUSED, REST and operator alike, until it is resumed; both are audited', async () => {
      const orderId = await createOrder(t);
      const paused = await ops().post(`/ops/orders/${orderId}/pause`).send({ reason: 'fraud check' }).expect(200);
      expect(paused.body.order).toMatchObject({ orderId, state: 'CREATED', version: 1, paused: { reason: 'fraud check', at: expect.any(String) } });
      expect((await t.http().get(`/orders/${orderId}`).expect(200)).body.paused).toMatchObject({ reason: 'fraud check' });

      const rest = await sendEvent(t, orderId, 'ACCEPT', { driverId: 'd-1' });
      expect([rest.status, rest.body.code, rest.body.details?.reason]).toEqual([409, 'ORDER_PAUSED', 'fraud check']);
      const asOperator = await ops().post(`/ops/orders/${orderId}/events`).send({ event: 'CANCEL', reason: 'try' });
      expect([asOperator.status, asOperator.body.code]).toEqual([409, 'ORDER_PAUSED']);
      const twice = await ops().post(`/ops/orders/${orderId}/pause`).send({ reason: 'again' });
      expect([twice.status, twice.body.code]).toEqual([409, 'ORDER_PAUSED']);
      expect(await stateOf(orderId)).toBe('CREATED');

      const resumed = await ops().post(`/ops/orders/${orderId}/resume`).send({ reason: 'cleared' }).expect(200);
      expect(resumed.body.order).toMatchObject({ state: 'CREATED', version: 1, paused: null });
      const again = await ops().post(`/ops/orders/${orderId}/resume`).send({ reason: 'again' });
      expect([again.status, again.body.code]).toEqual([409, 'ORDER_NOT_PAUSED']);
      await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });

      const d = await detail(orderId);
      expect(d.actions.map((a: { kind: string; actor: string; reason: string }) => [a.kind, a.actor, a.reason])).toEqual([
        ['pause', OPERATOR, 'fraud check'],
        ['resume', OPERATOR, 'cleared'],
      ]);
      expect(d.transitions.map((row: { event: string }) => row.event)).toEqual(['CREATE', 'ACCEPT']);
    });

    it('refuses a pause without a reason, or at a stale version, and changes nothing', async () => {
      const orderId = await createOrder(t);
      const before = await snapshot(orderId);
      for (const [body, code] of [
        [{}, 'VALIDATION_FAILED'],
        [{ reason: '' }, 'VALIDATION_FAILED'],
        [{ reason: 'r', expectedVersion: 3 }, 'ORDER_STATE_NOT_MATCH'],
        [{ reason: 'r', until: 'tomorrow' }, 'VALIDATION_FAILED'],
      ] as const) {
        const response = await ops().post(`/ops/orders/${orderId}/pause`).send(body);
        expect([JSON.stringify(body), response.body.code]).toEqual([JSON.stringify(body), code]);
      }
      expect(await snapshot(orderId)).toEqual(before);
      const missing = await ops().post(`/ops/orders/${uid('nope')}/resume`).send({ reason: 'r' });
      expect([missing.status, missing.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    });

    it('the worker leaves a paused order alone, spending no attempt and writing no dead letter, and does its work on resume', async () => {
      const orderId = await enterpriseAt(TO_FEE_CONFIRMED.slice(0, -1));
      await ops().post(`/ops/orders/${orderId}/pause`).send({ reason: 'checking the fare' }).expect(200);
      // CONFIRM_FEE is refused; a forced move is not, and queues AUTO_PAY for the worker, which is refused in turn.
      expect((await sendEvent(t, orderId, 'CONFIRM_FEE')).body.code).toBe('ORDER_PAUSED');
      const refusals = async () => sample(await scrape(), 'order_fsm_events_total', { event: 'AUTO_PAY', outcome: 'ORDER_PAUSED' }) ?? 0;
      const before = await refusals();
      await ops().post(`/ops/orders/${orderId}/force`).send({ toState: 'FEE_CONFIRMED', reason: 'fare confirmed by phone' }).expect(200);
      await waitFor('the worker to meet the pause', async () => (await refusals()) > before);
      // The attempt is in the order's timeline: held back by the pause, not to come again by itself.
      const held = await waitFor('the held attempt', async () => {
        const d = await detail(orderId);
        return d.workAttempts.some((a: { outcome: string }) => a.outcome === 'held') && d;
      });
      expect(held.workAttempts.filter((a: { outcome: string }) => a.outcome !== 'wait')).toEqual([
        expect.objectContaining({ event: 'AUTO_PAY', state: 'FEE_CONFIRMED', attempt: 1, outcome: 'held', errorCode: 'ORDER_PAUSED', retryAt: null }),
      ]);
      expect(held.order).toMatchObject({ state: 'FEE_CONFIRMED', paused: { reason: 'checking the fare' }, flag: null });
      expect(held.deadLetters).toEqual([]);
      expect(billing.charges.get(orderId)).toBeUndefined();
      // Nor does the sweeper queue it again, however late it is.
      const workRows = held.messages.filter((m: { kind: string }) => m.kind === 'work').length;
      await t.app.get(Sweeper).sweep(new Date(Date.now() + 3_600_000));
      expect((await detail(orderId)).messages.filter((m: { kind: string }) => m.kind === 'work')).toHaveLength(workRows);

      await ops().post(`/ops/orders/${orderId}/resume`).send({ reason: 'fare is right' }).expect(200);
      await waitFor('the order to close by itself', async () => (await stateOf(orderId)) === 'CLOSED');
      expect((await transitionsOf(t, orderId)).slice(-3).map((e) => [e.event, e.source])).toEqual([
        ['@force', 'operator'],
        ['AUTO_PAY', 'worker'],
        ['CLOSE', 'worker'],
      ]);
      expect(billing.charges.get(orderId)).toBe(1);
    });

    it('a timer due while the order is paused is held, not spent, and fires on resume', async () => {
      const orderId = await createOrder(t);
      await ops().post(`/ops/orders/${orderId}/pause`).send({ reason: 'hold the timeout' }).expect(200);
      // A forced move applies to a paused order (which stays paused) and schedules the timers it names.
      await ops()
        .post(`/ops/orders/${orderId}/force`)
        .send({ toState: 'CREATED', reason: 'a shorter wait for a driver', timers: [{ event: 'ACCEPT_TIMEOUT', inMs: 50 }] })
        .expect(200);
      const held = await waitFor('the timer to be held', async () => {
        const d = await detail(orderId);
        return d.timers.find((timer: { version: number; status: string }) => timer.version === 2 && timer.status === 'held') && d;
      });
      expect(held.order).toMatchObject({ state: 'CREATED', version: 2, paused: { reason: 'hold the timeout' } });

      await ops().post(`/ops/orders/${orderId}/resume`).send({ reason: 'let it time out' }).expect(200);
      await waitFor('the timer to cancel the order', async () => (await stateOf(orderId)) === 'CANCELLED');
      const d = await detail(orderId);
      expect(d.transitions.at(-1)).toMatchObject({ event: 'ACCEPT_TIMEOUT', source: 'timer', version: 3 });
      expect(d.timers.find((timer: { version: number }) => timer.version === 2)).toMatchObject({ status: 'fired', outcome: 'fired' });
    });
  });

  describe('events as the operator', () => {
    it('sends a declared event as the operator: its processor runs, the machine\'s sentBy does not apply, the act is audited', async () => {
      const orderId = await createOrder(t);
      const requestId = uid('op-event');
      const body = { event: 'ACCEPT', payload: { driverId: 'd-9' }, reason: 'driver accepted by phone', requestId };
      const response = await ops().post(`/ops/orders/${orderId}/events`).send(body).expect(200);
      expect(response.body).toMatchObject({ event: 'ACCEPT', fromState: 'CREATED', toState: 'ACCEPTED', version: 2, replayed: false, order: { state: 'ACCEPTED' } });
      expect((await ops().post(`/ops/orders/${orderId}/events`).send(body).expect(200)).body.replayed).toBe(true);
      const d = await detail(orderId);
      expect(d.order.data).toMatchObject({ driverId: 'd-9' });
      expect(d.transitions.at(-1)).toMatchObject({ event: 'ACCEPT', source: 'operator', caller: OPERATOR, actor: OPERATOR, reason: 'driver accepted by phone', requestId });
      expect(d.actions.map((a: { kind: string }) => a.kind)).toEqual(['event']);
    });

    it.each([
      ['no reason', { event: 'CANCEL' }, 400, 'VALIDATION_FAILED'],
      ['an undeclared event', { event: 'TELEPORT', reason: 'r' }, 400, 'VALIDATION_FAILED'],
      ['a payload that is not an object', { event: 'CANCEL', reason: 'r', payload: 'now' }, 400, 'VALIDATION_FAILED'],
      ['an event the state does not take', { event: 'END_TRIP', reason: 'r' }, 409, 'NOT_FOUND_PROCESSOR'],
      ['a stale expectedState', { event: 'CANCEL', reason: 'r', expectedState: 'ACCEPTED' }, 409, 'ORDER_STATE_NOT_MATCH'],
    ])('refuses %s with a stable code and changes nothing', async (_what, body, status, code) => {
      const orderId = await createOrder(t);
      const before = await snapshot(orderId);
      const response = await ops().post(`/ops/orders/${orderId}/events`).send(body);
      expect([response.status, response.body.code]).toEqual([status, code]);
      expect(await snapshot(orderId)).toEqual(before);
    });
  });

  describe('dead letters', () => {
    /** An ENTERPRISE order whose AUTO_PAY used up its attempts: its dead letter, once recorded. */
    async function deadLettered(): Promise<{ orderId: string; letter: Record<string, unknown> & { id: number } }> {
      const orderId = await enterpriseAt(TO_FEE_CONFIRMED.slice(0, -1));
      billing.down.add(orderId);
      await advance(t, orderId, 'CONFIRM_FEE');
      const letter = await waitFor('the dead letter', async () => (await ops().get('/ops/dead-letters').query({ orderId }).expect(200)).body.items[0]);
      return { orderId, letter };
    }

    it('keeps dead work, redrives it once with the same request id as the worker, and says what happened', async () => {
      const { orderId, letter } = await deadLettered();
      expect(letter).toMatchObject({ orderId, event: 'AUTO_PAY', state: 'FEE_CONFIRMED', version: 6, attempts: 3, status: 'dead', reason: expect.stringContaining('billing is down') });
      expect((await detail(orderId)).order.flag).toMatchObject({ reason: expect.stringContaining('AUTO_PAY dead-lettered') });
      expect(billing.charges.get(orderId)).toBe(3);

      // Still down: the work runs and fails as it did, and the letter stays dead with what it found.
      const failed = (await ops().post(`/ops/dead-letters/${letter.id}/redrive`).send({ reason: 'try again' }).expect(200)).body;
      expect(failed).toMatchObject({ outcome: 'failed', error: { code: 'INTERNAL_ERROR' }, transition: null, deadLetter: { status: 'dead', outcome: expect.stringContaining('billing is down') } });
      expect(await stateOf(orderId)).toBe('FEE_CONFIRMED');

      billing.down.delete(orderId);
      const redriven = await ops().post(`/ops/dead-letters/${letter.id}/redrive`).send({ reason: 'billing is back' }).expect(200);
      expect(redriven.body).toMatchObject({
        outcome: 'applied',
        detail: 'applied FEE_CONFIRMED -> PAID',
        deadLetter: { id: letter.id, status: 'redriven', settledBy: OPERATOR, settleReason: 'billing is back' },
        transition: { event: 'AUTO_PAY', fromState: 'FEE_CONFIRMED', toState: 'PAID', version: 7 },
      });
      const again = await ops().post(`/ops/dead-letters/${letter.id}/redrive`).send({ reason: 'again' });
      expect([again.status, again.body.code, again.body.details?.status]).toEqual([409, 'DEAD_LETTER_SETTLED', 'redriven']);
      await waitFor('the order to close by itself', async () => (await stateOf(orderId)) === 'CLOSED');

      const d = await detail(orderId);
      const autoPay = d.transitions.filter((row: { event: string }) => row.event === 'AUTO_PAY');
      expect(autoPay).toEqual([expect.objectContaining({ source: 'worker', caller: '@system', actor: OPERATOR, reason: 'billing is back' })]);
      // Both attempts are audited: the one that failed, with what it found, and the one that applied.
      expect(d.actions.map((a: { kind: string; reason: string; detail: Record<string, unknown> }) => [a.kind, a.reason, a.detail.deadLetter])).toEqual([
        ['redrive', 'try again', letter.id],
        ['redrive', 'billing is back', letter.id],
      ]);
      expect(d.order.flag).toBeNull();
      expect(billing.charges.get(orderId)).toBe(5);
    });

    it("shows each automatic attempt that did not apply in the order's timeline; work that applies adds none", async () => {
      const { orderId, letter } = await deadLettered();
      const d = await detail(orderId);
      // A busy order (another holder of its lock) makes the worker wait without spending an attempt: not what this test is about.
      const attempts = d.workAttempts.filter((a: { outcome: string }) => a.outcome !== 'wait');
      expect(attempts.map((a: Record<string, unknown>) => [a.event, a.state, a.version, a.attempt, a.outcome, a.errorCode])).toEqual([
        ['AUTO_PAY', 'FEE_CONFIRMED', 6, 1, 'retry', 'INTERNAL_ERROR'],
        ['AUTO_PAY', 'FEE_CONFIRMED', 6, 2, 'retry', 'INTERNAL_ERROR'],
        ['AUTO_PAY', 'FEE_CONFIRMED', 6, 3, 'dead-lettered', 'INTERNAL_ERROR'],
      ]);
      for (const attempt of attempts) expect(attempt.message).toContain('billing is down');
      // Each retry comes again after the worker's delay (50 ms, then 100 ms); the last one does not come again.
      const after = (a: { at: string; retryAt: string | null }) => (a.retryAt === null ? null : Date.parse(a.retryAt) - Date.parse(a.at));
      expect(attempts.map(after)).toEqual([50, 100, null]);
      expect(attempts.map((a: { at: string }) => Date.parse(a.at))).toEqual([...attempts.map((a: { at: string }) => Date.parse(a.at))].sort((x, y) => x - y));

      // The redrive that applies is a transition, not an attempt; nor does the work that follows it add any.
      billing.down.delete(orderId);
      await ops().post(`/ops/dead-letters/${letter.id}/redrive`).send({ reason: 'billing is back' }).expect(200);
      await waitFor('the order to close by itself', async () => (await stateOf(orderId)) === 'CLOSED');
      expect((await detail(orderId)).workAttempts.filter((a: { outcome: string }) => a.outcome !== 'wait')).toEqual(attempts);

      // Automatic work that applies at once writes its transitions and no attempt.
      const fine = await enterpriseAt(TO_FEE_CONFIRMED);
      await waitFor('the order to close by itself', async () => (await stateOf(fine)) === 'CLOSED');
      const closed = await detail(fine);
      expect(closed.transitions.filter((row: { source: string }) => row.source === 'worker').map((row: { event: string }) => row.event)).toEqual(['AUTO_PAY', 'CLOSE']);
      expect(closed.workAttempts.filter((a: { outcome: string }) => a.outcome !== 'wait')).toEqual([]);
    });

    it('a redrive of work that was applied meanwhile is a replay: it applies once', async () => {
      const { orderId, letter } = await deadLettered();
      billing.down.delete(orderId);
      // Someone else runs the same work with the same request id first (a redelivery, another operator).
      await ops().post(`/ops/bulk/redrive`).send({ filter: { ids: [letter.id] }, reason: 'first' }).expect(200);
      await sql(t.dataSource, "UPDATE fsm_dead_letter SET status = 'dead' WHERE id = ?", [letter.id]);
      const replayed = await ops().post(`/ops/dead-letters/${letter.id}/redrive`).send({ reason: 'second' }).expect(200);
      expect(replayed.body).toMatchObject({ outcome: 'replayed', deadLetter: { status: 'redriven', settleReason: 'second' } });
      expect((await transitionsOf(t, orderId)).filter((e) => e.event === 'AUTO_PAY')).toHaveLength(1);
    });

    it('closes, with nothing to do, a dead letter whose order is elsewhere or gone', async () => {
      const store = t.app.get<OrderStore>(ORDER_STORE);
      const gone = uid('gone');
      await store.recordDeadLetter({ work: { messageId: `${gone}:3:work`, orderId: gone, version: 3, state: 'PAID', event: 'CLOSE', origin: 'transition' }, reason: 'test', attempts: 1, at: new Date() });
      const [letter] = (await ops().get('/ops/dead-letters').query({ orderId: gone }).expect(200)).body.items;
      const closed = (await ops().post(`/ops/dead-letters/${letter.id}/redrive`).send({ reason: 'clean up' }).expect(200)).body;
      expect(closed).toMatchObject({ outcome: 'moved-on', detail: expect.stringContaining('ORDER_NOT_FOUND'), transition: null, deadLetter: { status: 'redriven', outcome: expect.stringContaining('nothing to do') } });
    });

    it('discards a dead letter with a reason, once', async () => {
      const { orderId, letter } = await deadLettered();
      const discarded = await ops().post(`/ops/dead-letters/${letter.id}/discard`).send({ reason: 'refunded by hand' }).expect(200);
      expect(discarded.body.deadLetter).toMatchObject({ status: 'discarded', settledBy: OPERATOR, settleReason: 'refunded by hand', outcome: null });
      const again = await ops().post(`/ops/dead-letters/${letter.id}/discard`).send({ reason: 'again' });
      expect([again.status, again.body.code]).toEqual([409, 'DEAD_LETTER_SETTLED']);
      const redrive = await ops().post(`/ops/dead-letters/${letter.id}/redrive`).send({ reason: 'changed my mind' });
      expect([redrive.status, redrive.body.code]).toEqual([409, 'DEAD_LETTER_SETTLED']);
      expect(await stateOf(orderId)).toBe('FEE_CONFIRMED');
      expect((await detail(orderId)).actions.map((a: { kind: string }) => a.kind)).toEqual(['discard']);
      const listed = (await ops().get('/ops/dead-letters').query({ status: 'discarded', orderId }).expect(200)).body.items;
      expect(listed.map((l: { id: number }) => l.id)).toEqual([letter.id]);
    });

    it('bulk redrive: a dry run says exactly what each would do and changes nothing; the run applies each once', async () => {
      const first = await deadLettered();
      const second = await deadLettered();
      const moved = await deadLettered();
      // This one's order moved on (paid by hand): its work has nothing left to do.
      billing.down.delete(moved.orderId);
      await advance(t, moved.orderId, 'PAY', { paymentId: uid('pay') });
      for (const { orderId } of [first, second]) billing.down.delete(orderId);
      const filter = { ids: [first.letter.id, second.letter.id, moved.letter.id] };

      const dry = (await ops().post('/ops/bulk/redrive').send({ filter, reason: 'billing is back', dryRun: true }).expect(200)).body;
      expect(dry).toMatchObject({ action: 'redrive', dryRun: true, truncated: false, summary: { matched: 3, changes: 3, applied: 0, skipped: 0, failed: 0 } });
      expect(dry.items).toEqual([
        expect.objectContaining({ deadLetterId: first.letter.id, orderId: first.orderId, state: 'FEE_CONFIRMED', change: expect.stringContaining('send AUTO_PAY') }),
        expect.objectContaining({ deadLetterId: second.letter.id, change: expect.stringContaining('send AUTO_PAY') }),
        expect.objectContaining({ deadLetterId: moved.letter.id, change: expect.stringContaining('moved on') }),
      ]);
      for (const { orderId } of [first, second]) expect(await stateOf(orderId)).toBe('FEE_CONFIRMED');
      expect((await ops().get('/ops/dead-letters').query({ status: 'dead', limit: '500' }).expect(200)).body.items.map((l: { id: number }) => l.id)).toEqual(
        expect.arrayContaining(filter.ids),
      );

      const run = (await ops().post('/ops/bulk/redrive').send({ filter, reason: 'billing is back' }).expect(200)).body;
      expect(run.summary).toEqual({ matched: 3, changes: 3, applied: 3, skipped: 0, failed: 0 });
      expect(run.items.map((item: { outcome: string; after: { state: string } }) => [item.outcome, item.after.state])).toEqual([
        ['applied', 'PAID'],
        ['applied', 'PAID'],
        // Paid by hand before: it closes by itself, maybe already.
        ['applied', expect.stringMatching(/^(PAID|CLOSED)$/)],
      ]);
      const letters = (await ops().get('/ops/dead-letters').query({ status: 'redriven', limit: '500' }).expect(200)).body.items;
      expect(letters.find((l: { id: number }) => l.id === moved.letter.id)).toMatchObject({ outcome: expect.stringContaining('nothing to do') });
      // Nothing left to redrive.
      expect((await ops().post('/ops/bulk/redrive').send({ filter, reason: 'again' }).expect(200)).body.summary.matched).toBe(0);
      for (const { orderId } of [first, second]) expect((await transitionsOf(t, orderId)).filter((e) => e.event === 'AUTO_PAY')).toHaveLength(1);
    });

    it.each([
      ['a malformed id', 'post', '/ops/dead-letters/abc/redrive', { reason: 'r' }, 400, 'VALIDATION_FAILED'],
      ['an unknown id', 'post', '/ops/dead-letters/999999999/redrive', { reason: 'r' }, 404, 'NOT_FOUND'],
      ['no reason', 'post', '/ops/dead-letters/1/discard', {}, 400, 'VALIDATION_FAILED'],
      ['a bad status', 'get', '/ops/dead-letters?status=alive', undefined, 400, 'VALIDATION_FAILED'],
      ['a bulk redrive without a filter', 'post', '/ops/bulk/redrive', { filter: {}, reason: 'r' }, 400, 'VALIDATION_FAILED'],
    ] as const)('refuses %s', async (_what, method, path, body, status, code) => {
      const response = await ops()[method](path).send(body);
      expect([response.status, response.body.code]).toEqual([status, code]);
    });
  });

  describe('stuck orders', () => {
    it('lists orders past their automatic-work deadline with why: dead-lettered, paused', async () => {
      const dead = await enterpriseAt(TO_FEE_CONFIRMED.slice(0, -1));
      billing.down.add(dead);
      await advance(t, dead, 'CONFIRM_FEE');
      const paused = await enterpriseAt(TO_FEE_CONFIRMED.slice(0, -1));
      await ops().post(`/ops/orders/${paused}/pause`).send({ reason: 'audit' }).expect(200);
      await ops().post(`/ops/orders/${paused}/force`).send({ toState: 'FEE_CONFIRMED', reason: 'by phone' }).expect(200);
      const items = await waitFor('both to be stuck', async () => {
        const found = (await ops().get('/ops/stuck').query({ limit: '1000' }).expect(200)).body.items as Array<{ order: { orderId: string }; reasons: Array<{ kind: string }> }>;
        const mine = found.filter((item) => [dead, paused].includes(item.order.orderId));
        return mine.length === 2 && mine.every((item) => item.reasons.some((r) => r.kind === 'automatic-work-overdue')) && mine.some((item) => item.reasons.some((r) => r.kind === 'dead-lettered')) && mine;
      });
      const byId = Object.fromEntries(items.map((item) => [item.order.orderId, item.reasons.map((r) => r.kind).sort()]));
      expect(byId).toEqual({ [dead]: ['automatic-work-overdue', 'dead-lettered'], [paused]: ['automatic-work-overdue', 'paused'] });
      const bad = await ops().get('/ops/stuck').query({ unpublishedOlderThanMs: '-5' });
      expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });
  });

  describe('bulk', () => {
    it('pause and resume over a filter: a dry run answers exactly which orders would change and how, and changes nothing', async () => {
      const orderIds = [await createOrder(t), await createOrder(t), await createOrder(t)];
      await ops().post(`/ops/orders/${orderIds[2]}/pause`).send({ reason: 'already' }).expect(200);
      const filter = { orderIds, state: 'CREATED' };
      const before = await Promise.all(orderIds.map(snapshot));

      const dry = (await ops().post('/ops/bulk/pause').send({ filter, reason: 'incident 42', dryRun: true }).expect(200)).body;
      expect(dry).toMatchObject({ action: 'pause', dryRun: true, truncated: false, summary: { matched: 3, changes: 2, applied: 0, skipped: 0, failed: 0 } });
      expect(Object.fromEntries(dry.items.map((item: { orderId: string; change: string | null; skip?: string }) => [item.orderId, item.change ?? item.skip]))).toEqual({
        [orderIds[0]!]: 'pause',
        [orderIds[1]!]: 'pause',
        [orderIds[2]!]: 'already paused',
      });
      expect(await Promise.all(orderIds.map(snapshot))).toEqual(before);

      const run = (await ops().post('/ops/bulk/pause').send({ filter, reason: 'incident 42' }).expect(200)).body;
      expect(run.summary).toEqual({ matched: 3, changes: 2, applied: 2, skipped: 1, failed: 0 });
      for (const orderId of orderIds) expect((await detail(orderId)).order.paused).not.toBeNull();

      const resumeDry = (await ops().post('/ops/bulk/resume').send({ filter: { orderIds, paused: true }, reason: 'incident over', dryRun: true }).expect(200)).body;
      expect(resumeDry.items.map((item: { change: string }) => item.change)).toEqual(['resume', 'resume', 'resume']);
      const resumed = (await ops().post('/ops/bulk/resume').send({ filter: { orderIds, paused: true }, reason: 'incident over' }).expect(200)).body;
      expect(resumed.summary).toMatchObject({ matched: 3, applied: 3 });
      expect((await detail(orderIds[0]!)).actions.map((a: { kind: string; reason: string }) => [a.kind, a.reason])).toEqual([
        ['pause', 'incident 42'],
        ['resume', 'incident over'],
      ]);
    });

    it('force over a filter: the dry run names each move, the run applies each at the version it saw', async () => {
      const orderIds = [await createOrder(t), await createOrder(t)];
      const dry = (await ops().post('/ops/bulk/force').send({ filter: { orderIds }, toState: 'CANCELLED', reason: 'city closed', dryRun: true }).expect(200)).body;
      expect(dry.items.map((item: { change: string }) => item.change)).toEqual(['force CREATED -> CANCELLED', 'force CREATED -> CANCELLED']);
      expect(await Promise.all(orderIds.map(stateOf))).toEqual(['CREATED', 'CREATED']);
      const run = (await ops().post('/ops/bulk/force').send({ filter: { orderIds }, toState: 'CANCELLED', reason: 'city closed', requestId: uid('bulk') }).expect(200)).body;
      expect(run.items.map((item: { outcome: string; after: { state: string; version: number } }) => [item.outcome, item.after])).toEqual([
        ['applied', { state: 'CANCELLED', version: 2, paused: false }],
        ['applied', { state: 'CANCELLED', version: 2, paused: false }],
      ]);
      for (const orderId of orderIds) expect((await transitionsOf(t, orderId)).at(-1)).toMatchObject({ event: '@force', source: 'operator' });
    });

    it('replays a bulk force run again with its requestId, timers given as delays included, and moves no order twice', async () => {
      const orderIds = [await createOrder(t), await createOrder(t)];
      const body = { filter: { orderIds }, toState: 'CREATED', reason: 'reschedule', requestId: uid('bulk'), timers: [{ event: 'ACCEPT_TIMEOUT', inMs: 600_000 }] };
      const first = (await ops().post('/ops/bulk/force').send(body).expect(200)).body;
      expect(first.summary).toEqual({ matched: 2, changes: 2, applied: 2, replayed: 0, skipped: 0, failed: 0 });
      // Later, with the orders at version 2 and the delay counted from another now: the same request.
      const again = (await ops().post('/ops/bulk/force').send(body).expect(200)).body;
      expect(again.summary).toEqual({ matched: 2, changes: 2, applied: 0, replayed: 2, skipped: 0, failed: 0 });
      expect(again.items.map((item: { outcome: string; after: unknown }) => [item.outcome, item.after])).toEqual([
        ['replayed', { state: 'CREATED', version: 2, paused: false }],
        ['replayed', { state: 'CREATED', version: 2, paused: false }],
      ]);
      for (const orderId of orderIds) {
        expect((await transitionsOf(t, orderId)).map((row: { event: string }) => row.event)).toEqual(['CREATE', '@force']);
        // CREATE's timer (version 1) is cancelled by the move; the force's own (version 2) waits, once.
        const timers = (await detail(orderId)).timers.filter((timer: { event: string }) => timer.event === 'ACCEPT_TIMEOUT');
        expect(timers.map((timer: { version: number; status: string }) => [timer.version, timer.status])).toEqual([
          [1, 'cancelled'],
          [2, 'pending'],
        ]);
      }
      // Another call under the same requestId is still refused for each order.
      const other = (await ops().post('/ops/bulk/force').send({ ...body, timers: [{ event: 'ACCEPT_TIMEOUT', inMs: 1_000 }] }).expect(200)).body;
      expect(other.items.map((item: { outcome: string; error?: { code: string } }) => [item.outcome, item.error?.code])).toEqual([
        ['failed', 'IDEMPOTENCY_KEY_REUSED'],
        ['failed', 'IDEMPOTENCY_KEY_REUSED'],
      ]);
    });

    it.each([
      ['no filter', 'pause', { reason: 'r' }, 400, 'VALIDATION_FAILED'],
      ['an empty filter', 'pause', { filter: {}, reason: 'r' }, 400, 'VALIDATION_FAILED'],
      ['no reason', 'resume', { filter: { state: 'CREATED' } }, 400, 'VALIDATION_FAILED'],
      ['a limit above the most', 'pause', { filter: { state: 'CREATED' }, reason: 'r', limit: 1_001 }, 400, 'VALIDATION_FAILED'],
      ['an undeclared state', 'force', { filter: { state: 'CREATED' }, toState: 'NOWHERE', reason: 'r', dryRun: true }, 422, 'STATE_NOT_DECLARED'],
      ['a toState on a pause', 'pause', { filter: { state: 'CREATED' }, toState: 'CLOSED', reason: 'r' }, 400, 'VALIDATION_FAILED'],
      ['an unknown action', 'delete', { filter: { state: 'CREATED' }, reason: 'r' }, 404, 'NOT_FOUND'],
    ])('refuses %s, changing nothing', async (_what, action, body, status, code) => {
      const response = await ops().post(`/ops/bulk/${action}`).send(body);
      expect([response.status, response.body.code]).toEqual([status, code]);
    });
  });
});
