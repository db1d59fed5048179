import { randomUUID } from 'node:crypto';
import { VersionConflictError, type ClaimedMessage, type FsmOrder, type OrderStore, type SaveOutcome, type TransitionWrite } from '@order-fsm/core';
import { MysqlOrderStore, ORDER_FSM_MIGRATIONS } from '@order-fsm/core/mysql';
import { OrderFsmPostgresOutboxUnpublished1796800000000, PostgresOrderStore } from '@order-fsm/core/postgres';
import pg from 'pg';
import { DataSource, EventSubscriber, type EntityManager, type EntitySubscriberInterface } from 'typeorm';

const DATABASE_URL = process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test';

function write(order: FsmOrder, toState: string): TransitionWrite {
  return {
    order,
    toState,
    event: 'STEP',
    requestId: `store-${randomUUID()}`,
    requestHash: 'h'.repeat(64),
    caller: 'store-test',
    source: 'api',
    at: new Date(),
    messages: [],
    autoDueAt: null,
  };
}

/** Commits as a processor with a save() of its own: `save` runs inside the transaction. */
async function commitWith(store: OrderStore, write: TransitionWrite, save: (manager: EntityManager) => Promise<SaveOutcome>): Promise<FsmOrder> {
  return (await store.commit({ ...write, save })).order;
}

/** Commits as a processor with no save() of its own: the outcome is decided before the transaction. */
async function commitPure(store: OrderStore, write: TransitionWrite, outcome: () => Promise<SaveOutcome>): Promise<FsmOrder> {
  return (await store.commit({ ...write, outcome: await outcome() })).order;
}

async function timersOf(dataSource: DataSource, orderId: string): Promise<string[]> {
  const rows = await dataSource.query('SELECT event FROM fsm_timer WHERE order_id = ? ORDER BY id', [orderId]);
  return rows.map((r: { event: string }) => r.event);
}

/** save() gets a real TypeORM transaction: what it writes, nested transactions included, commits or rolls back with the transition. */
describe.each([
  ['with no subscriber', false, false],
  ['with a subscriber (TypeORM opens and commits)', true, false],
  ['with multipleStatements (the rows after save() in one batch)', false, true],
])('MysqlOrderStore.commit, %s', (_name, withSubscriber, multipleStatements) => {
  let dataSource: DataSource;
  let store: MysqlOrderStore;
  const events: string[] = [];

  beforeAll(async () => {
    @EventSubscriber()
    class TransactionEvents implements EntitySubscriberInterface {
      afterTransactionCommit() {
        events.push('commit');
      }
      afterTransactionRollback() {
        events.push('rollback');
      }
    }
    dataSource = new DataSource({
      type: 'mysql', url: DATABASE_URL, timezone: 'Z', migrations: [...ORDER_FSM_MIGRATIONS], migrationsRun: true,
      subscribers: withSubscriber ? [TransactionEvents] : [],
      multipleStatements,
    });
    await dataSource.initialize();
    store = new MysqlOrderStore(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
  });

  async function created(): Promise<FsmOrder> {
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: { n: 1 } };
    return commitWith(store, write(order, 'A'), async () => ({ response: '{}', timers: [] }));
  }

  it('commits what save() wrote in a nested transaction together with the transition', async () => {
    const order = await created();
    const moved = await commitWith(store, write(order, 'B'), async (manager) => {
      await manager.transaction((inner) =>
        inner.query('INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES (?, 2, ?, ?, NOW(3), NOW(3))', [order.orderId, 'B', 'NESTED']),
      );
      return { response: '{}', timers: [{ event: 'LATER', fireAt: new Date(Date.now() + 60_000) }] };
    });
    expect(moved.version).toBe(2);
    expect((await store.load(order.orderId))?.state).toBe('B');
    expect(await timersOf(dataSource, order.orderId)).toEqual(['NESTED', 'LATER']);
    expect((await store.listTransitions(order.orderId)).map((t) => t.toState)).toEqual(['A', 'B']);
    if (withSubscriber) expect(events.at(-1)).toBe('commit');
  });

  it('rolls back the state change and what save() wrote, nested transaction included, when save() fails', async () => {
    const order = await created();
    await expect(
      commitWith(store, write(order, 'B'), async (manager) => {
        await manager.transaction((inner) =>
          inner.query('INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES (?, 2, ?, ?, NOW(3), NOW(3))', [order.orderId, 'B', 'NESTED']),
        );
        throw new Error('payment refused');
      }),
    ).rejects.toThrow('payment refused');
    const after = await store.load(order.orderId);
    expect(after).toMatchObject({ state: 'A', version: 1, data: { n: 1 } });
    expect(await timersOf(dataSource, order.orderId)).toEqual([]);
    expect((await store.listTransitions(order.orderId)).map((t) => t.version)).toEqual([1]);
    if (withSubscriber) expect(events.at(-1)).toBe('rollback');
  });

  it('rolls everything back when a write after save() fails, and answers what failed', async () => {
    const order = await created();
    const taken = `store-${randomUUID()}`;
    await commitWith(store, { ...write(order, 'B'), requestId: taken }, async () => ({ response: '{}', timers: [] }));
    const moved = (await store.load(order.orderId))!;
    // The same request id again: the log's unique key refuses it after the order row was updated.
    await expect(commitWith(store, { ...write(moved, 'A'), requestId: taken }, async () => ({ response: '{}', timers: [{ event: 'T', fireAt: new Date() }] }))).rejects.toMatchObject({
      code: 'DUPLICATE_REQUEST',
    });
    expect(await store.load(order.orderId)).toMatchObject({ state: 'B', version: 2 });
    expect(await timersOf(dataSource, order.orderId)).toEqual([]);
  });

  it('refuses a stale version with VERSION_CONFLICT and leaves the connection usable', async () => {
    const order = await created();
    await commitWith(store, write(order, 'B'), async () => ({ response: '{}', timers: [] }));
    await expect(commitWith(store, write(order, 'B'), async () => ({ response: '{}', timers: [] }))).rejects.toBeInstanceOf(VersionConflictError);
    // Every connection of the pool is still in a clean state: a fresh transition goes through.
    const current = (await store.load(order.orderId))!;
    await expect(commitWith(store, write(current, 'A'), async () => ({ response: '{}', timers: [] }))).resolves.toMatchObject({ version: 3 });
  });
});

/** A processor with no save() of its own: with multipleStatements the whole transaction is one batch, still fenced. */
describe('MysqlOrderStore.commit in one round trip (no save() of its own)', () => {
  let dataSource: DataSource;
  let store: MysqlOrderStore;
  let sent = 0;

  beforeAll(async () => {
    // One connection, so that a transaction left open by a failed batch would show in the next commit.
    dataSource = new DataSource({
      type: 'mysql', url: DATABASE_URL, timezone: 'Z', migrations: [...ORDER_FSM_MIGRATIONS], migrationsRun: true, multipleStatements: true, poolSize: 1,
    });
    await dataSource.initialize();
    store = new MysqlOrderStore(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
  });

  const pure = (order: FsmOrder, toState: string): TransitionWrite => write(order, toState);
  const message = () => ({ messageId: randomUUID(), kind: 'status' as const, routingKey: 'order.status', payload: '{}' });
  /** Counts the queries mysql2 is handed while `work` runs: a multi-statement batch is one. */
  async function roundTrips<R>(work: () => Promise<R>): Promise<[R, number]> {
    const pool = (dataSource.driver as unknown as { pool: { getConnection(cb: (e: unknown, c: { query: (...a: unknown[]) => unknown; release(): void }) => void): void } }).pool;
    const connection = await new Promise<{ query: (...a: unknown[]) => unknown; release(): void }>((resolve, reject) => pool.getConnection((e, c) => (e ? reject(e) : resolve(c))));
    const query = connection.query;
    sent = 0;
    connection.query = function counted(this: unknown, ...args: unknown[]) {
      sent++;
      return query.apply(this, args);
    };
    connection.release();
    try {
      return [await work(), sent];
    } finally {
      connection.query = query;
    }
  }
  const outboxOf = async (orderId: string) => Number((await dataSource.query('SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ?', [orderId]))[0].n);
  const cleanUp = async (orderId: string) => {
    for (const table of ['fsm_outbox', 'fsm_timer', 'fsm_transition']) await dataSource.query(`DELETE FROM ${table} WHERE order_id = ?`, [orderId]);
  };

  it('creates and moves an order with its log row, its messages and its timers, each commit one round trip', async () => {
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: { n: 1 } };
    const [created, createTrips] = await roundTrips(() => commitPure(store, { ...pure(order, 'A'), messages: [message()] }, async () => ({ response: '{"r":1}', timers: [] })));
    const [moved, moveTrips] = await roundTrips(() =>
      commitPure(store, { ...pure({ ...created, data: { n: 2 } }, 'B'), messages: [message(), message()] }, async () => ({
        response: '{"r":2}',
        timers: [{ event: 'LATER', fireAt: new Date(Date.now() + 60_000) }],
      })),
    );
    expect([createTrips, moveTrips]).toEqual([1, 1]);
    expect(moved).toMatchObject({ state: 'B', version: 2 });
    expect(await store.load(order.orderId)).toMatchObject({ state: 'B', version: 2, data: { n: 2 } });
    expect((await store.listTransitions(order.orderId)).map((t) => [t.version, t.toState])).toEqual([[1, 'A'], [2, 'B']]);
    expect(await outboxOf(order.orderId)).toBe(3);
    expect(await timersOf(dataSource, order.orderId)).toEqual(['LATER']);
    await cleanUp(order.orderId);
  });

  it("relays in three round trips a pass: the claim with its transaction's start, the look at what precedes, the mark with COMMIT", async () => {
    const ack = async (messages: readonly ClaimedMessage[]) => messages.map((m) => m.id);
    while ((await store.relayOutbox(100, ack)) > 0); // what other suites left unpublished
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: {} };
    await commitPure(store, { ...pure(order, 'A'), messages: [message(), message()] }, async () => ({ response: '{}', timers: [] }));
    const handed: string[] = [];
    const [claimed, trips] = await roundTrips(() =>
      store.relayOutbox(100, async (messages) => {
        handed.push(...messages.map((m) => m.orderId));
        return messages.map((m) => m.id);
      }),
    );
    expect([claimed, trips]).toEqual([2, 3]);
    expect(handed).toEqual([order.orderId, order.orderId]);
    expect(Number((await dataSource.query('SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND published_at IS NULL', [order.orderId]))[0].n)).toBe(0);
    // An empty pass is the claim and its COMMIT; the connection goes back out of the transaction.
    expect(await roundTrips(() => store.relayOutbox(100, ack))).toEqual([0, 2]);
    expect(Number((await dataSource.query('SELECT @@in_transaction AS open'))[0].open)).toBe(0);
    await cleanUp(order.orderId);
  });

  it('refuses a stale version with VERSION_CONFLICT, writes none of it, and leaves no transaction open', async () => {
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: { n: 1 } };
    const created = await commitPure(store, pure(order, 'A'), async () => ({ response: '{}', timers: [] }));
    await commitPure(store, pure(created, 'B'), async () => ({ response: '{}', timers: [] }));
    const stale = { ...pure({ ...created, data: { n: 99 } }, 'B'), messages: [message()] };
    await expect(commitPure(store, stale, async () => ({ response: '{}', timers: [{ event: 'T', fireAt: new Date() }] }))).rejects.toBeInstanceOf(VersionConflictError);
    // Nothing of the refused transition: no log row, no message, no timer, the order as the winner left it.
    expect(await store.load(order.orderId)).toMatchObject({ state: 'B', version: 2, data: { n: 1 } });
    expect((await store.listTransitions(order.orderId)).map((t) => t.version)).toEqual([1, 2]);
    expect(await outboxOf(order.orderId)).toBe(0);
    expect(await timersOf(dataSource, order.orderId)).toEqual([]);
    // The one connection is out of the transaction: the next commit goes through, and is durable.
    expect(Number((await dataSource.query('SELECT @@in_transaction AS open'))[0].open)).toBe(0);
    await expect(commitPure(store, pure((await store.load(order.orderId))!, 'A'), async () => ({ response: '{}', timers: [] }))).resolves.toMatchObject({ version: 3 });
    await cleanUp(order.orderId);
  });

  it('refuses a stale state at the same version, and a request id already used, rolling back the order row', async () => {
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: {} };
    const created = await commitPure(store, pure(order, 'A'), async () => ({ response: '{}', timers: [] }));
    await expect(commitPure(store, pure({ ...created, state: 'B' }, 'A'), async () => ({ response: '{}', timers: [] }))).rejects.toBeInstanceOf(VersionConflictError);
    const taken = `store-${randomUUID()}`;
    const moved = await commitPure(store, { ...pure(created, 'B'), requestId: taken }, async () => ({ response: '{}', timers: [] }));
    await expect(commitPure(store, { ...pure(moved, 'A'), requestId: taken }, async () => ({ response: '{}', timers: [] }))).rejects.toMatchObject({ code: 'DUPLICATE_REQUEST' });
    expect(await store.load(order.orderId)).toMatchObject({ state: 'B', version: 2 });
    expect(Number((await dataSource.query('SELECT @@in_transaction AS open'))[0].open)).toBe(0);
    await cleanUp(order.orderId);
  });
});

describe('MysqlOrderStore', () => {
  it('refuses a DataSource that is not MySQL or MariaDB, naming it', () => {
    expect(() => new MysqlOrderStore({ options: { type: 'postgres' } } as unknown as DataSource)).toThrow(/MySQL and MariaDB.*postgres/);
  });
});

/** PostgreSQL: a transition with no save() of its own is one statement, fenced all the same. */
describe('PostgresOrderStore.commit in one statement (no save() of its own)', () => {
  const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
  let dataSource: DataSource;
  let store: PostgresOrderStore;
  let sent = 0;
  /** The client of the relay's last pass. */
  let relayClient: pg.Client | undefined;
  const query = pg.Client.prototype.query;

  beforeAll(async () => {
    dataSource = new DataSource({ type: 'postgres', url: POSTGRES_URL });
    await dataSource.initialize();
    store = new PostgresOrderStore(dataSource);
    await store.ensureSchema();
    pg.Client.prototype.query = function counted(this: unknown, ...args: unknown[]) {
      sent++;
      if (typeof args[0] === 'string' && args[0].startsWith('BEGIN;')) relayClient = this as pg.Client;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
  });
  afterAll(async () => {
    pg.Client.prototype.query = query;
    await dataSource.destroy();
  });

  async function statements<R>(work: () => Promise<R>): Promise<[R, number]> {
    sent = 0;
    const result = await work();
    return [result, sent];
  }
  const message = () => ({ messageId: randomUUID(), kind: 'status' as const, routingKey: 'order.status', payload: '{}' });
  const count = async (table: string, orderId: string) => Number((await dataSource.query(`SELECT COUNT(*) AS n FROM ${table} WHERE order_id = $1`, [orderId]))[0].n);

  it('creates and moves an order with its log row, messages, timers and fired timer, one statement each', async () => {
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: { n: 1 } };
    const [created, createSent] = await statements(() => commitPure(store, { ...write(order, 'A'), messages: [message()] }, async () => ({
      response: '{"r":1}',
      timers: [{ event: 'LATER', fireAt: new Date(Date.now() + 60_000) }],
    })));
    const [timer] = await dataSource.query('SELECT id FROM fsm_timer WHERE order_id = $1', [order.orderId]);
    const [moved, moveSent] = await statements(() =>
      commitPure(store, { ...write({ ...created, data: { n: 2 } }, 'B'), messages: [message(), message()], firesTimer: Number(timer.id) }, async () => ({ response: '{"r":2}', timers: [] })),
    );
    expect([createSent, moveSent]).toEqual([1, 1]);
    expect(moved).toMatchObject({ state: 'B', version: 2 });
    expect(await store.load(order.orderId)).toMatchObject({ state: 'B', version: 2, data: { n: 2 } });
    expect((await store.listTransitions(order.orderId)).map((t) => [t.version, t.toState])).toEqual([[1, 'A'], [2, 'B']]);
    expect(await store.findConsumedRequest((await store.listTransitions(order.orderId))[1]!.requestId, 'store-test')).toMatchObject({ response: { r: 2 } });
    expect(await count('fsm_outbox', order.orderId)).toBe(3);
    expect((await dataSource.query('SELECT outcome FROM fsm_timer WHERE id = $1', [timer.id]))[0].outcome).toBe('fired');
  });

  it('relays in two statements a pass: BEGIN with the claim and what precedes each row, then the mark with COMMIT', async () => {
    const ack = async (messages: readonly ClaimedMessage[]) => messages.map((m) => m.id);
    while ((await store.relayOutbox(100, ack)) > 0); // what other suites left unpublished
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: {} };
    await commitPure(store, { ...write(order, 'A'), messages: [message(), message()] }, async () => ({ response: '{}', timers: [] }));
    const handed: string[] = [];
    const [claimed, sentForIt] = await statements(() =>
      store.relayOutbox(100, async (messages) => {
        handed.push(...messages.map((m) => m.orderId));
        return messages.map((m) => m.id);
      }),
    );
    expect([claimed, sentForIt]).toEqual([2, 2]);
    expect(handed).toEqual([order.orderId, order.orderId]);
    expect(await dataSource.query('SELECT count(*)::int AS n FROM fsm_outbox WHERE order_id = $1 AND published_at IS NULL', [order.orderId])).toEqual([{ n: 0 }]);
    expect(await statements(() => store.relayOutbox(100, ack))).toEqual([0, 2]);
  });

  it('fails a pass whose connection the server cuts while it publishes, and the next pass publishes its rows', async () => {
    const ack = async (messages: readonly ClaimedMessage[]) => messages.map((m) => m.id);
    while ((await store.relayOutbox(100, ack)) > 0); // what other suites left unpublished
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: {} };
    await commitPure(store, { ...write(order, 'A'), messages: [message()] }, async () => ({ response: '{}', timers: [] }));
    await expect(
      store.relayOutbox(100, async (messages) => {
        // As a restart or a failover would: the server ends the connection of the pass, idle in its
        // transaction while the broker confirms. The client hears of it before the pass goes on.
        const client = relayClient!;
        const ended = new Promise((resolve) => client.once('end', resolve));
        await dataSource.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'");
        await ended;
        return messages.map((m) => m.id);
      }),
    ).rejects.toThrow();
    // Nothing marked; the process and the pool go on, and the next pass publishes the message once.
    const handed: string[] = [];
    while ((await store.relayOutbox(100, async (messages) => (handed.push(...messages.map((m) => m.orderId)), messages.map((m) => m.id)))) > 0);
    expect(handed.filter((id) => id === order.orderId)).toHaveLength(1);
  });

  it('refuses a stale version, a second create and a consumed request id, writing none of it', async () => {
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: {} };
    const created = await commitPure(store, write(order, 'A'), async () => ({ response: '{}', timers: [] }));
    await expect(commitPure(store, write(order, 'A'), async () => ({ response: '{}', timers: [] }))).rejects.toBeInstanceOf(VersionConflictError);
    const taken = `store-${randomUUID()}`;
    const moved = await commitPure(store, { ...write(created, 'B'), requestId: taken }, async () => ({ response: '{}', timers: [] }));
    await expect(
      commitPure(store, { ...write(created, 'C'), messages: [message()] }, async () => ({ response: '{}', timers: [{ event: 'T', fireAt: new Date() }] })),
    ).rejects.toBeInstanceOf(VersionConflictError);
    await expect(commitPure(store, { ...write(moved, 'A'), requestId: taken, messages: [message()] }, async () => ({ response: '{}', timers: [] }))).rejects.toMatchObject({
      code: 'DUPLICATE_REQUEST',
    });
    expect(await store.load(order.orderId)).toMatchObject({ state: 'B', version: 2 });
    expect(await count('fsm_outbox', order.orderId)).toBe(0);
    expect(await count('fsm_timer', order.orderId)).toBe(0);
  });
});

/**
 * PostgreSQL: the store's reads and one-statement transitions are named prepared statements, parsed
 * and planned once per connection, unless the store is told not to (a pooler that drops them).
 */
describe('PostgresOrderStore prepared statements', () => {
  const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
  // One connection, so that pg_prepared_statements (a session's own) shows what the store's queries left there.
  const open = async () => {
    const dataSource = new DataSource({ type: 'postgres', url: POSTGRES_URL, poolSize: 1 });
    await dataSource.initialize();
    return dataSource;
  };
  const preparedHere = async (dataSource: DataSource): Promise<string[]> =>
    (await dataSource.query("SELECT name FROM pg_prepared_statements WHERE name LIKE 'order_fsm_%' ORDER BY name")).map((r: { name: string }) => r.name);
  const ride = async (store: PostgresOrderStore) => {
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: {} };
    let current = await commitPure(store, write(order, 'A'), async () => ({ response: '{}', timers: [] }));
    for (const to of ['B', 'A', 'B']) {
      const loaded = (await store.load(order.orderId))!;
      current = await commitPure(store, write(loaded, to), async () => ({ response: '{}', timers: [] }));
    }
    return current;
  };

  it('prepares each text once on a connection, and two stores on one pool share the names', async () => {
    const dataSource = await open();
    try {
      const [first, second] = [new PostgresOrderStore(dataSource), new PostgresOrderStore(dataSource)];
      await first.ensureSchema();
      expect(await ride(first)).toMatchObject({ state: 'B', version: 4 });
      const prepared = await preparedHere(dataSource);
      // The load, the create and the move: each its own text, each prepared once however often it ran.
      expect(prepared.length).toBeGreaterThanOrEqual(3);
      expect(new Set(prepared).size).toBe(prepared.length);
      expect(await ride(second)).toMatchObject({ state: 'B', version: 4 });
      expect(await preparedHere(dataSource)).toEqual(prepared);
    } finally {
      await dataSource.destroy();
    }
  });

  it('gives the relay an index of the unpublished messages alone, by id, from the migration as from ensureSchema()', async () => {
    const dataSource = await open();
    const indexDef = async () =>
      (await dataSource.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'fsm_outbox' AND indexname = 'idx_fsm_outbox_unpublished'"))[0]?.indexdef as string | undefined;
    const partial = /ON (public\.)?fsm_outbox USING btree \(id\) WHERE \(published_at IS NULL\)$/;
    try {
      await new PostgresOrderStore(dataSource).ensureSchema();
      await dataSource.query('DROP INDEX IF EXISTS idx_fsm_outbox_unpublished');
      const runner = dataSource.createQueryRunner();
      try {
        await new OrderFsmPostgresOutboxUnpublished1796800000000().up(runner);
      } finally {
        await runner.release();
      }
      expect(await indexDef()).toMatch(partial);
      await dataSource.query('DROP INDEX IF EXISTS idx_fsm_outbox_unpublished');
      await new PostgresOrderStore(dataSource).ensureSchema();
      expect(await indexDef()).toMatch(partial);
    } finally {
      await dataSource.destroy();
    }
  });

  it('prepares nothing with prepareStatements: false, and moves orders all the same', async () => {
    const dataSource = await open();
    try {
      const store = new PostgresOrderStore(dataSource, { prepareStatements: false });
      await store.ensureSchema();
      expect(await ride(store)).toMatchObject({ state: 'B', version: 4 });
      expect(await preparedHere(dataSource)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });
});
