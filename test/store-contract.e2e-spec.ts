import { randomInt, randomUUID } from 'node:crypto';
import {
  type ClaimedMessage,
  type FsmOrder,
  type LateEventWrite,
  type ListedOrder,
  type OperatorActionWrite,
  type OpsStore,
  type OrderStore,
  type OutboxMessage,
  type SaveOutcome,
  type TransitionWrite,
  type WorkMessage,
} from '@order-fsm/core';
import { MysqlOrderStore, ORDER_FSM_MIGRATIONS } from '@order-fsm/core/mysql';
import { SqliteOrderStore } from '@order-fsm/core/sqlite';
import { ORDER_FSM_POSTGRES_MIGRATIONS, PostgresOrderStore } from '@order-fsm/core/postgres';
import { DataSource, type EntityManager } from 'typeorm';
import { FSM_TABLES } from '../libs/order-fsm/src/adapters/sql/schema.js';
import { describedShape, mysqlShape, postgresShape, sqliteShape, type TableShape } from './support/schema-shape.js';

/**
 * One contract for every OrderStore: the same behaviours, on MariaDB (MysqlOrderStore), PostgreSQL
 * (PostgresOrderStore) and SQLite (SqliteOrderStore on sql.js). The tables are shared with whatever
 * else ran on the database, so every test uses ids of its own and looks only at its own rows.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test';
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';

interface Adapter {
  /** Every store here is an SQL store: the OrderStore, and what the operator API asks besides. */
  store: OrderStore & OpsStore;
  /** A statement written with `?` placeholders, on the adapter's database (through `manager` when given). */
  sql(statement: string, params?: unknown[], manager?: { query(q: string, p: unknown[]): Promise<unknown> }): Promise<Array<Record<string, unknown>>>;
  /** A time as the adapter's tables store it. */
  time(date: Date): unknown;
  /** What the database holds of a table: its columns (name -> nullable) and its unique keys and indexes, by columns. */
  describe(table: string): Promise<TableShape>;
  close(): Promise<void>;
}

interface Fixture {
  /** Several connections, so that writers and relays really run at once. */
  server: boolean;
  open(): Promise<Adapter>;
}

const numbered = (statement: string) => {
  let n = 0;
  return statement.replace(/\?/g, () => `$${++n}`);
};

/** MariaDB through its migrations; with `multipleStatements`, a transition without a save() is one batch. */
function mariadb(multipleStatements: boolean): Fixture {
  return {
    server: true,
    async open() {
      const dataSource = new DataSource({ type: 'mysql', url: DATABASE_URL, timezone: 'Z', migrations: [...ORDER_FSM_MIGRATIONS], migrationsRun: true, multipleStatements });
      await dataSource.initialize();
      return {
        store: new MysqlOrderStore(dataSource),
        sql: (statement, params = [], manager = dataSource) => manager.query(statement, params) as Promise<Array<Record<string, unknown>>>,
        time: (date) => date,
        describe: (table) => mysqlShape(dataSource, table),
        close: () => dataSource.destroy(),
      };
    },
  };
}

const fixtures: Array<[string, Fixture]> = [
  ['MariaDB (MysqlOrderStore)', mariadb(false)],
  ['MariaDB with multipleStatements (a transition in one round trip)', mariadb(true)],
  [
    'PostgreSQL (PostgresOrderStore)',
    {
      server: true,
      async open() {
        const dataSource = new DataSource({ type: 'postgres', url: POSTGRES_URL });
        await dataSource.initialize();
        const store = new PostgresOrderStore(dataSource);
        await store.ensureSchema();
        return {
          store,
          sql: (statement, params = [], manager = dataSource) => manager.query(numbered(statement), params) as Promise<Array<Record<string, unknown>>>,
          time: (date) => date,
          describe: (table) => postgresShape(dataSource, table),
          close: () => dataSource.destroy(),
        };
      },
    },
  ],
  [
    'PostgreSQL, tables from ORDER_FSM_POSTGRES_MIGRATIONS',
    {
      server: true,
      async open() {
        // A schema of its own, created by the TypeORM migration rather than ensureSchema().
        const schema = `fsm_migrated_${process.pid}_${randomInt(1e9)}`;
        const admin = new DataSource({ type: 'postgres', url: POSTGRES_URL });
        await admin.initialize();
        await admin.query(`CREATE SCHEMA ${schema}`);
        const dataSource = new DataSource({
          type: 'postgres', url: POSTGRES_URL, extra: { options: `-c search_path=${schema}` },
          migrations: [...ORDER_FSM_POSTGRES_MIGRATIONS], migrationsRun: true,
        });
        await dataSource.initialize();
        return {
          store: new PostgresOrderStore(dataSource),
          sql: (statement, params = [], manager = dataSource) => manager.query(numbered(statement), params) as Promise<Array<Record<string, unknown>>>,
          time: (date) => date,
          describe: (table) => postgresShape(dataSource, table),
          close: async () => {
            await dataSource.destroy();
            await admin.query(`DROP SCHEMA ${schema} CASCADE`);
            await admin.destroy();
          },
        };
      },
    },
  ],
  [
    'SQLite (SqliteOrderStore on sql.js)',
    {
      server: false,
      async open() {
        const dataSource = new DataSource({ type: 'sqljs', logging: false });
        await dataSource.initialize();
        const store = new SqliteOrderStore(dataSource);
        await store.ensureSchema();
        return {
          store,
          sql: (statement, params = [], manager = dataSource) => manager.query(statement, params) as Promise<Array<Record<string, unknown>>>,
          time: (date) => date.getTime(),
          describe: (table) => sqliteShape(dataSource, table),
          close: () => dataSource.destroy(),
        };
      },
    },
  ],
];

const LEASE = 60_000;
const NOTHING = { response: '{"ok":true}', timers: [] };

/** Commits `write` and answers the order as committed: with `save`, the way a processor with a save() of its own commits. */
async function commitWith(store: OrderStore, write: TransitionWrite, save?: (manager: EntityManager) => Promise<SaveOutcome>): Promise<FsmOrder> {
  return (await store.commit(save ? { ...write, save } : { outcome: NOTHING, ...write })).order;
}

function newOrder(data: Record<string, unknown> = { n: 1 }): FsmOrder {
  return { orderId: `contract-${randomUUID()}`, bizCode: 'TAXI', sceneId: 'CITY', state: 'INIT', version: 0, data };
}

function step(order: FsmOrder, toState: string, extra: Partial<TransitionWrite> = {}): TransitionWrite {
  return {
    order,
    toState,
    event: `TO_${toState}`,
    requestId: `req-${randomUUID()}`,
    requestHash: 'h'.repeat(64),
    caller: 'contract',
    source: 'api',
    at: new Date(),
    messages: [],
    autoDueAt: null,
    ...extra,
  };
}

const message = (orderId: string, n: number): OutboxMessage => ({ messageId: `${orderId}:${n}`, kind: 'status', routingKey: 'order.status', payload: `{"n":${n}}` });

describe.each(fixtures)('OrderStore contract on %s', (_name, fixture) => {
  let db: Adapter;
  let store: OrderStore & OpsStore;
  // Races between relays belong to the stores that several processes share: the SQLite store serves
  // one process, one unit of work at a time, so these are not part of its contract.
  const onServers = (name: string, test: () => Promise<void>) => {
    if (fixture.server) it(name, test);
  };

  beforeAll(async () => {
    db = await fixture.open();
    store = db.store;
  });
  afterAll(async () => {
    await db?.close();
  });

  const create = (order = newOrder(), extra: Partial<TransitionWrite> = {}) => commitWith(store, step(order, 'A', extra));
  const count = async (statement: string, params: unknown[]) => Number((await db.sql(statement, params))[0]!.n);
  const outboxCount = (orderId: string) => count('SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ?', [orderId]);
  const ours = (orderIds: string[]) => (m: ClaimedMessage) => orderIds.includes(m.orderId);

  /** Relays until `until` holds; acks every message it is handed (rows left over by other suites too). */
  async function relayAll(until: (seen: ClaimedMessage[]) => boolean, limit = 100): Promise<ClaimedMessage[]> {
    const seen: ClaimedMessage[] = [];
    for (let round = 0; round < 50 && !until(seen); round++) {
      const claimed = await store.relayOutbox(limit, async (messages) => {
        seen.push(...messages);
        return messages.map((m) => m.id);
      });
      if (claimed === 0) break;
    }
    return seen;
  }

  describe('schema', () => {
    // One description of the tables (adapters/sql/schema.ts): PostgreSQL and SQLite are created from
    // it, MariaDB's migrations must arrive at it. A column, a key or an index that drifts fails here.
    it.each(FSM_TABLES.map((table) => [table.name, table] as const))('has %s as described: its columns, their nullability, its keys and indexes', async (_name, table) => {
      const actual = await db.describe(table.name);
      const described = describedShape(table);
      expect(actual.columns).toEqual(described.columns);
      expect(actual.keys.filter((key) => described.keys.includes(key))).toEqual(described.keys);
    });
  });

  describe('orders', () => {
    it('creates an order at version 1 and loads it as written', async () => {
      const order = newOrder({ n: 1, nested: { b: 2, a: [1, 'x'] } });
      const at = new Date();
      const created = await commitWith(store, step(order, 'A', { at }));
      expect(created).toMatchObject({ orderId: order.orderId, state: 'A', version: 1 });
      const loaded = await store.load(order.orderId);
      expect(loaded).toMatchObject({ orderId: order.orderId, bizCode: 'TAXI', sceneId: 'CITY', state: 'A', version: 1, data: { n: 1, nested: { b: 2, a: [1, 'x'] } } });
      expect(loaded!.createdAt!.getTime()).toBe(at.getTime());
      expect(loaded!.flag).toBeUndefined();
      expect(await store.load(`contract-${randomUUID()}`)).toBeNull();
    });

    it('refuses a second create of the same id with VERSION_CONFLICT', async () => {
      const order = newOrder();
      await create(order);
      await expect(create(order)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
      expect(await store.listTransitions(order.orderId)).toHaveLength(1);
    });

    it('refuses a stale version with VERSION_CONFLICT, runs no save() and writes nothing', async () => {
      const v1 = await create();
      await commitWith(store, step(v1, 'B'));
      let worked = false;
      const work = async () => ((worked = true), NOTHING);
      await expect(commitWith(store, step(v1, 'C', { messages: [message(v1.orderId, 1)] }), work)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
      expect(worked).toBe(false);
      expect(await store.load(v1.orderId)).toMatchObject({ state: 'B', version: 2 });
      expect(await store.listTransitions(v1.orderId)).toHaveLength(2);
      expect(await outboxCount(v1.orderId)).toBe(0);
    });

    it('lets exactly one of several writers at the same version win', async () => {
      const v1 = await create();
      const results = await Promise.allSettled(['B', 'C', 'D', 'E', 'F'].map((to) => commitWith(store, step(v1, to))));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'VERSION_CONFLICT' });
      const winner = (won[0] as PromiseFulfilledResult<FsmOrder>).value;
      expect(await store.load(v1.orderId)).toMatchObject({ state: winner.state, version: 2 });
      expect(await store.listTransitions(v1.orderId)).toHaveLength(2);
    });

    it('lets exactly one of several creators of the same id win', async () => {
      const order = newOrder();
      const results = await Promise.allSettled([1, 2, 3, 4].map(() => create(order)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'VERSION_CONFLICT' });
    });

    it('rolls everything back when save() throws, what save() wrote in a nested transaction included', async () => {
      const v1 = await create();
      const requestId = `req-${randomUUID()}`;
      await expect(
        commitWith(store, step(v1, 'B', { requestId, messages: [message(v1.orderId, 1)] }), async (manager) => {
          await manager.transaction((inner) =>
            db.sql('INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES (?, 2, ?, ?, ?, ?)', [v1.orderId, 'B', 'SAVED', db.time(new Date()), db.time(new Date())], inner),
          );
          throw new Error('payment refused');
        }),
      ).rejects.toThrow('payment refused');
      expect(await store.load(v1.orderId)).toMatchObject({ state: 'A', version: 1 });
      expect(await store.listTransitions(v1.orderId)).toHaveLength(1);
      expect(await outboxCount(v1.orderId)).toBe(0);
      expect(await count('SELECT COUNT(*) AS n FROM fsm_timer WHERE order_id = ?', [v1.orderId])).toBe(0);
      expect(await store.findConsumedRequest(requestId, 'contract')).toBeNull();
    });

    it('commits what save() wrote with the transition, in a nested transaction too', async () => {
      const v1 = await create();
      await commitWith(store, step(v1, 'B'), async (manager) => {
        await db.sql('INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES (?, 2, ?, ?, ?, ?)', [v1.orderId, 'B', 'SAVED', db.time(new Date()), db.time(new Date())], manager);
        await manager.transaction((inner) =>
          db.sql('INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES (?, 2, ?, ?, ?, ?)', [v1.orderId, 'B', 'NESTED', db.time(new Date()), db.time(new Date())], inner),
        );
        return { response: '{}', timers: [] };
      });
      expect(await count('SELECT COUNT(*) AS n FROM fsm_timer WHERE order_id = ?', [v1.orderId])).toBe(2);
    });
  });

  describe('request ids', () => {
    it('are consumed per caller: the same id and caller replay, another caller is another request', async () => {
      const order = newOrder();
      const requestId = `req-${randomUUID()}`;
      await commitWith(store, step(order, 'A', { requestId, caller: 'alice', requestHash: 'a'.repeat(64) }), async () => ({ response: '{"orderId":"x","n":1}', timers: [] }));

      expect(await store.findConsumedRequest(requestId, 'alice')).toEqual({ requestHash: 'a'.repeat(64), response: { orderId: 'x', n: 1 } });
      expect(await store.findConsumedRequest(requestId, 'bob')).toBeNull();
      expect((await store.loadForEvent(order.orderId, requestId, 'alice')).consumed).toMatchObject({ requestHash: 'a'.repeat(64) });
      expect(await store.loadForEvent(order.orderId, requestId, 'bob')).toMatchObject({ order: { version: 1 }, consumed: null });
      // No such order: the answer is still whether the id is taken.
      expect(await store.loadForEvent(`contract-${randomUUID()}`, requestId, 'alice')).toMatchObject({ order: null, consumed: { requestHash: 'a'.repeat(64) } });

      // Bob may use the same id; Alice may not use hers again, and that leaves the order as it was.
      await expect(commitWith(store, step(newOrder(), 'A', { requestId, caller: 'bob' }))).resolves.toMatchObject({ version: 1 });
      const v1 = await create();
      await expect(commitWith(store, step(v1, 'B', { requestId, caller: 'alice', messages: [message(v1.orderId, 1)] }))).rejects.toMatchObject({
        code: 'DUPLICATE_REQUEST',
      });
      expect(await store.load(v1.orderId)).toMatchObject({ state: 'A', version: 1 });
      expect(await outboxCount(v1.orderId)).toBe(0);
    });
  });

  describe('transition log', () => {
    it('lists the transitions in version order with their fields', async () => {
      const order = newOrder();
      // The machine version, payload and processor of each: what a shadow replay sends again; a migration moves the order to v2.
      const first = { ...step(order, 'A', { caller: 'alice', source: 'api' }), payload: JSON.stringify({ n: 1 }), processor: 'AProcessor' };
      const v1 = await commitWith(store, first);
      expect(v1.machineVersion).toBe(1);
      const second = { ...step(v1, 'B', { caller: '@system', source: 'worker', at: new Date(first.at.getTime() + 5) }), machineVersion: 2 };
      const v2 = await commitWith(store, second);
      // An operator's act: who and why are on its row; the caller stays whose request id it is.
      const third = step(v2, 'C', { caller: 'olga', source: 'operator', actor: 'olga', reason: 'customer called', at: new Date(first.at.getTime() + 10) });
      await commitWith(store, third);
      expect(await store.listTransitions(order.orderId)).toEqual([
        { orderId: order.orderId, version: 1, event: 'TO_A', fromState: 'INIT', toState: 'A', requestId: first.requestId, caller: 'alice', source: 'api', actor: 'alice', reason: null, createdAt: first.at, machineVersion: 1, payload: { n: 1 }, processor: 'AProcessor' },
        { orderId: order.orderId, version: 2, event: 'TO_B', fromState: 'A', toState: 'B', requestId: second.requestId, caller: '@system', source: 'worker', actor: '@system', reason: null, createdAt: second.at, machineVersion: 2, payload: undefined, processor: null },
        { orderId: order.orderId, version: 3, event: 'TO_C', fromState: 'B', toState: 'C', requestId: third.requestId, caller: 'olga', source: 'operator', actor: 'olga', reason: 'customer called', createdAt: third.at, machineVersion: 2, payload: undefined, processor: null },
      ]);
    });
  });

  describe('outbox', () => {
    it('commits the messages with the transition and hands them out in id order, once', async () => {
      const order = newOrder();
      const v1 = await create(order, { messages: [message(order.orderId, 1), message(order.orderId, 2)] });
      await commitWith(store, step(v1, 'B', { messages: [message(order.orderId, 3)] }));
      expect(await outboxCount(order.orderId)).toBe(3);
      const backlog = await store.outboxBacklog();
      expect(backlog.count).toBeGreaterThanOrEqual(3);
      expect(backlog.oldestCreatedAt).toBeInstanceOf(Date);

      const seen = (await relayAll((s) => s.filter(ours([order.orderId])).length >= 3)).filter(ours([order.orderId]));
      expect(seen.map((m) => m.messageId)).toEqual([1, 2, 3].map((n) => `${order.orderId}:${n}`));
      expect(seen.map((m) => m.id)).toEqual([...seen.map((m) => m.id)].sort((a, b) => a - b));
      expect(seen[0]).toMatchObject({ kind: 'status', routingKey: 'order.status', payload: '{"n":1}', orderId: order.orderId });
      expect(seen[0]!.createdAt).toBeInstanceOf(Date);
      // Published: a later relay does not hand them out again.
      expect((await relayAll(() => false)).filter(ours([order.orderId]))).toEqual([]);
    });

    it('keeps the trace context of the transaction that wrote each message, and hands it out with the message', async () => {
      const order = newOrder();
      const traced = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=t61rcWkgMzE,other=1' };
      const traced2 = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
      // The one-batch road (no save()) and the transaction's own road (a save()), each with a traced and an untraced message.
      const v1 = await create(order, { messages: [{ ...message(order.orderId, 1), traceContext: traced }, message(order.orderId, 2)] });
      await commitWith(store, step(v1, 'B', { messages: [message(order.orderId, 3), { ...message(order.orderId, 4), traceContext: traced2 }] }), async () => NOTHING);
      const seen = (await relayAll((s) => s.filter(ours([order.orderId])).length >= 4)).filter(ours([order.orderId]));
      expect(seen.map((m) => m.messageId)).toEqual([1, 2, 3, 4].map((n) => `${order.orderId}:${n}`));
      expect(seen.map((m) => m.traceContext)).toEqual([traced, undefined, undefined, traced2]);
      // An untraced message stores nothing at all.
      expect(await count('SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND trace_context IS NULL', [order.orderId])).toBe(2);
    });

    it('leaves every claimed message unpublished when the publisher fails, to be handed out again in order', async () => {
      await relayAll(() => false); // nothing older than this test's rows is left unpublished
      const order = newOrder();
      await create(order, { messages: [1, 2].map((n) => message(order.orderId, n)) });
      let handed = false;
      for (let round = 0; round < 50 && !handed; round++) {
        await expect(
          store.relayOutbox(100, async (messages) => {
            handed = messages.some(ours([order.orderId]));
            throw new Error('the broker went away');
          }),
        ).rejects.toThrow('the broker went away');
      }
      expect(handed).toBe(true);
      expect(await count('SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND published_at IS NULL', [order.orderId])).toBe(2);
      // Nothing stayed locked or half-marked: the next passes hand both out, in order, and mark them.
      const seen = (await relayAll((s) => s.filter(ours([order.orderId])).length >= 2)).filter(ours([order.orderId]));
      expect(seen.map((m) => m.messageId)).toEqual([1, 2].map((n) => `${order.orderId}:${n}`));
      expect(await count('SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND published_at IS NULL', [order.orderId])).toBe(0);
    });

    it('marks only an acknowledged prefix per order: a message after an unacknowledged one waits', async () => {
      const order = newOrder();
      await create(order, { messages: [1, 2, 3].map((n) => message(order.orderId, n)) });
      const handed: string[][] = [];
      const relay = (skip: string) =>
        store.relayOutbox(100, async (messages) => {
          handed.push(messages.filter(ours([order.orderId])).map((m) => m.messageId));
          return messages.filter((m) => m.messageId !== skip).map((m) => m.id);
        });
      // Rows left by others may come first: relay until ours have been handed out.
      while (!handed.some((h) => h.length > 0)) await relay(`${order.orderId}:2`);
      expect(handed.at(-1)).toEqual([1, 2, 3].map((n) => `${order.orderId}:${n}`));
      // 1 was marked; 2 was not acknowledged, so 3 (acknowledged) was not marked either.
      handed.length = 0;
      await relay('none');
      expect(handed).toEqual([[`${order.orderId}:2`, `${order.orderId}:3`]]);
      expect(await count('SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND published_at IS NULL', [order.orderId])).toBe(0);
    });

    onServers('skips what another relay holds, and what comes after it for the same order', async () => {
      await relayAll(() => false); // nothing older than this test's rows is left unpublished
      const order = newOrder();
      await create(order, { messages: [1, 2, 3].map((n) => message(order.orderId, n)) });
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let holding!: () => void;
      const holds = new Promise<void>((resolve) => (holding = resolve));
      const first: string[] = [];
      const relayA = store.relayOutbox(1, async (messages) => {
        first.push(...messages.map((m) => m.messageId));
        holding();
        await held;
        return messages.map((m) => m.id);
      });
      await holds;
      expect(first).toEqual([`${order.orderId}:1`]);
      // Relay B skips the held row; 2 and 3 come after it, so B publishes none of this order's messages.
      const second: ClaimedMessage[] = [];
      await store.relayOutbox(100, async (messages) => {
        second.push(...messages);
        return messages.map((m) => m.id);
      });
      expect(second.filter(ours([order.orderId]))).toEqual([]);
      release();
      await relayA;
      const rest = (await relayAll((s) => s.filter(ours([order.orderId])).length >= 2)).filter(ours([order.orderId]));
      expect(rest.map((m) => m.messageId)).toEqual([`${order.orderId}:2`, `${order.orderId}:3`]);
    });

    onServers('never hands the same message to two relays running at once', async () => {
      const orders = [newOrder(), newOrder(), newOrder()];
      for (const order of orders) {
        const v1 = await create(order, { messages: [1, 2].map((n) => message(order.orderId, n)) });
        await commitWith(store, step(v1, 'B', { messages: [3, 4].map((n) => message(order.orderId, n)) }));
      }
      const ids = orders.map((o) => o.orderId);
      const seen: ClaimedMessage[] = [];
      const relay = async () => {
        for (let round = 0; round < 100 && seen.filter(ours(ids)).length < 12; round++) {
          await store.relayOutbox(2, async (messages) => {
            seen.push(...messages);
            return messages.map((m) => m.id);
          });
        }
      };
      await Promise.all([relay(), relay()]);
      const mine = seen.filter(ours(ids));
      expect(mine.map((m) => m.messageId).sort()).toEqual(orders.flatMap((o) => [1, 2, 3, 4].map((n) => `${o.orderId}:${n}`)).sort());
      // Each order's messages were published in their order.
      for (const order of orders) expect(mine.filter((m) => m.orderId === order.orderId).map((m) => m.payload)).toEqual([1, 2, 3, 4].map((n) => `{"n":${n}}`));
    });

    it('purges published messages older than a time', async () => {
      const order = newOrder();
      await create(order, { messages: [message(order.orderId, 1)] });
      await relayAll((s) => s.some(ours([order.orderId])));
      expect(await store.purgePublished(new Date(Date.now() + 60_000), 100_000)).toBeGreaterThanOrEqual(1);
      expect(await outboxCount(order.orderId)).toBe(0);
    });
  });

  describe('timers', () => {
    // Each test has a clock of its own, in the past: only its own timers are due at the times it
    // claims at, whatever other timers the shared table holds (a claim takes the oldest due first, up
    // to its limit). Its rows go when it ends.
    let clock: Date;
    const created: string[] = [];
    beforeEach(() => {
      clock = new Date(Date.UTC(1980, 0, 1) + randomInt(0, 2 ** 40));
    });
    afterEach(async () => {
      for (const orderId of created.splice(0)) await db.sql('DELETE FROM fsm_timer WHERE order_id = ?', [orderId]);
    });
    const at = (ms: number) => new Date(clock.getTime() + ms);

    /** A created order with one timer due at the test's clock; answers the order and the timer's id. */
    async function withDueTimer(): Promise<[FsmOrder, number]> {
      const order = newOrder();
      created.push(order.orderId);
      const v1 = await commitWith(store, step(order, 'A'), async () => ({ response: '{}', timers: [{ event: 'TIMEOUT', fireAt: clock }] }));
      const [row] = await db.sql('SELECT id FROM fsm_timer WHERE order_id = ?', [order.orderId]);
      return [v1, Number(row!.id)];
    }
    const claim = async (orderId: string, now: Date) => (await store.claimDueTimers(now, 1000, LEASE)).filter((t) => t.orderId === orderId);

    it('claims a due timer by committing a lease: not again before it runs out, again after', async () => {
      const [order, id] = await withDueTimer();
      expect(await claim(order.orderId, at(0))).toEqual([{ id, orderId: order.orderId, version: 1, state: 'A', event: 'TIMEOUT' }]);
      expect(await claim(order.orderId, at(0))).toEqual([]);
      expect(await claim(order.orderId, at(LEASE - 1))).toEqual([]);
      expect(await claim(order.orderId, at(LEASE))).toMatchObject([{ id }]);
    });

    it('marks the timer a transition fires as fired, in that transition only', async () => {
      const [v1, id] = await withDueTimer();
      await claim(v1.orderId, at(0));
      // A transition that fails leaves the timer to fire again.
      await expect(commitWith(store, step(v1, 'B', { event: 'TIMEOUT', source: 'timer', firesTimer: id }), async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
      expect((await db.sql('SELECT outcome FROM fsm_timer WHERE id = ?', [id]))[0]!.outcome).toBeNull();
      await commitWith(store, step(v1, 'B', { event: 'TIMEOUT', source: 'timer', firesTimer: id }));
      expect((await db.sql('SELECT outcome FROM fsm_timer WHERE id = ?', [id]))[0]!.outcome).toBe('fired');
      expect(await claim(v1.orderId, at(2 * LEASE))).toEqual([]);
    });

    it('settles a timer with an outcome (never due again) or a retry time', async () => {
      const [settled, settledId] = await withDueTimer();
      const [retried, retriedId] = await withDueTimer();
      await store.settleTimer(settledId, { outcome: 'order moved on' });
      await store.settleTimer(retriedId, { retryAt: at(10 * LEASE) });
      expect((await db.sql('SELECT outcome FROM fsm_timer WHERE id = ?', [settledId]))[0]!.outcome).toBe('order moved on');
      const claimBoth = async (now: Date) =>
        (await store.claimDueTimers(now, 1000, LEASE)).filter((t) => [settled.orderId, retried.orderId].includes(t.orderId)).map((t) => t.id);
      expect(await claimBoth(at(10 * LEASE - 1))).toEqual([]);
      expect(await claimBoth(at(10 * LEASE))).toEqual([retriedId]);
    });
  });

  describe('late events', () => {
    // Held events are claimed by the time they are next looked at: each test has a clock of its own in the past.
    let clock: Date;
    beforeEach(() => {
      clock = new Date(Date.UTC(1980, 0, 1) + randomInt(0, 2 ** 40));
    });
    const at = (ms: number) => new Date(clock.getTime() + ms);
    const late = (order: FsmOrder, extra: Partial<LateEventWrite> = {}): LateEventWrite => ({
      order,
      event: 'LATE',
      requestId: `late-${randomUUID()}`,
      requestHash: 'l'.repeat(64),
      caller: 'alice',
      callerRole: 'client',
      source: 'api',
      payload: '{"n":7}',
      policy: 'hold',
      status: 'held',
      response: '{"late":{"status":"held"}}',
      deadline: at(0),
      at: new Date(),
      messages: [],
      ...extra,
    });
    const claimHeld = async (orderId: string, now: Date) => (await store.claimHeldEvents(now, 1000, LEASE)).filter((h) => h.orderId === orderId);

    it('records a late event fenced by the order: consumed as a request id, refused once the order moved', async () => {
      const v1 = await create();
      const write = late(v1, { policy: 'ignore', status: 'ignored', deadline: null, messages: [message(v1.orderId, 1)] });
      await store.recordLateEvent(write);
      // Its request id is consumed as a transition's is: found with its answer, by loadForEvent too.
      expect(await store.findConsumedRequest(write.requestId, 'alice')).toEqual({ requestHash: write.requestHash, response: { late: { status: 'held' } } });
      expect((await store.loadForEvent(v1.orderId, write.requestId, 'alice')).consumed).toEqual({ requestHash: write.requestHash, response: { late: { status: 'held' } } });
      expect(await outboxCount(v1.orderId)).toBe(1);
      await expect(store.recordLateEvent(write)).rejects.toMatchObject({ code: 'DUPLICATE_REQUEST' });
      const moved = await commitWith(store, step(v1, 'C'));
      await expect(store.recordLateEvent(late(v1))).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
      expect(await store.listLateEvents(v1.orderId)).toMatchObject([{ orderId: v1.orderId, version: 1, state: 'A', event: 'LATE', policy: 'ignore', status: 'ignored', caller: 'alice' }]);
      expect(moved.version).toBe(2);
    });

    it('keeps the trace context of a late event\'s message', async () => {
      const v1 = await create();
      const traced = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
      await store.recordLateEvent(late(v1, { policy: 'ignore', status: 'ignored', deadline: null, messages: [{ ...message(v1.orderId, 1), traceContext: traced }] }));
      const seen = (await relayAll((s) => s.some(ours([v1.orderId])))).filter(ours([v1.orderId]));
      expect(seen).toMatchObject([{ messageId: `${v1.orderId}:1`, traceContext: traced }]);
    });

    onServers("settles a held event's messages after a transition of its order in flight, so their ids follow the commits", async () => {
      const v1 = await create();
      await store.recordLateEvent(late(v1, { deadline: at(0) }));
      const [held] = await claimHeld(v1.orderId, at(1));
      expect(held).toBeDefined();
      let committed = false;
      let settlement: 'pending' | 'before the commit' | 'after the commit' | Error = 'pending';
      let settling!: Promise<void>;
      await commitWith(store, step(v1, 'B', { messages: [message(v1.orderId, 1)] }), async (manager) => {
        // The transition holds its order's row (its fence ran): the settlement waits for it. Waiting on
        // this transaction, on PostgreSQL; on MariaDB, which waits in the optimizer's read of the row
        // before InnoDB lists the transaction, its statement for this order in the process list.
        const [{ pid }] = store instanceof PostgresOrderStore ? await db.sql('SELECT pg_backend_pid() AS pid', [], manager) : [{ pid: 0 }];
        const [waiting, params]: [string, unknown[]] =
          store instanceof PostgresOrderStore
            ? ['SELECT COUNT(*) AS n FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))', [pid]]
            : ['SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ?', [`SELECT version, paused_at FROM fsm_order WHERE id = '${v1.orderId}' FOR UPDATE`]];
        settling = store
          .settleHeldEvent(held!.id, { status: 'released', outcome: 'applied v2', response: '{}', orderId: v1.orderId, version: 1, messages: [message(v1.orderId, 2)] })
          .then(
            () => void (settlement = committed ? 'after the commit' : 'before the commit'),
            (error: Error) => void (settlement = error),
          );
        const deadline = Date.now() + 10_000;
        while (settlement === 'pending' && (await count(waiting, params)) === 0) {
          if (Date.now() > deadline) throw new Error('the settlement neither finished nor waited for the order row within 10 s');
          await new Promise((resolve) => setImmediate(resolve));
        }
        return NOTHING;
      });
      committed = true;
      await settling;
      expect(settlement).toBe('after the commit');
      const rows = await db.sql('SELECT message_id, id FROM fsm_outbox WHERE order_id = ? ORDER BY id', [v1.orderId]);
      expect(rows.map((row) => row.message_id)).toEqual([1, 2].map((n) => `${v1.orderId}:${n}`));
    });

    it('counts the late events on the order it loads for an event, claims held ones by lease, and settles each once', async () => {
      const v1 = await create();
      await store.recordLateEvent(late(v1, { deadline: at(10 * LEASE) }));
      const other = late(v1, { deadline: at(10 * LEASE) });
      await store.recordLateEvent(other);
      // Counted on the order, which is how its loads know to look in the late events at all.
      expect((await store.loadForEvent(v1.orderId, 'no-such-request', 'alice')).order?.lateEvents).toBe(2);
      expect((await store.load(v1.orderId))?.lateEvents).toBe(2);
      // Looked at first at its deadline, unless a transition wakes it.
      expect(await claimHeld(v1.orderId, at(10 * LEASE - 1))).toEqual([]);
      await store.wakeHeldEvents(v1.orderId, at(5));
      const claimed = await claimHeld(v1.orderId, at(5));
      expect(claimed).toHaveLength(2);
      expect(claimed[0]).toMatchObject({ orderId: v1.orderId, version: 1, state: 'A', event: 'LATE', caller: 'alice', callerRole: 'client', source: 'api', payload: { n: 7 } });
      expect(await claimHeld(v1.orderId, at(5))).toEqual([]);
      const [first, second] = claimed;
      const settled = { status: 'released' as const, outcome: 'applied v2', response: '{"done":true}', orderId: v1.orderId, version: 1, messages: [message(v1.orderId, 9)] };
      expect(await store.settleHeldEvent(first.id, settled)).toBe(true);
      expect(await store.settleHeldEvent(first.id, { ...settled, outcome: 'again' })).toBe(false);
      expect(await store.settleHeldEvent(second.id, { nextCheckAt: at(LEASE * 3) })).toBe(false);
      const events = await store.listLateEvents(v1.orderId);
      expect(events.map((e) => [e.status, e.outcome])).toEqual([
        ['released', 'applied v2'],
        ['held', null],
      ]);
      expect(await store.findConsumedRequest(first.requestId, 'alice')).toMatchObject({ response: { done: true } });
      expect(await outboxCount(v1.orderId)).toBe(1);
      expect(await claimHeld(v1.orderId, at(LEASE * 3))).toMatchObject([{ id: second.id }]);
      // Recorded, not held: the count stays.
      expect((await store.loadForEvent(v1.orderId, 'no-such-request', 'alice')).order?.lateEvents).toBe(2);
    });

    it('ends a held event decided on the order at a version only while the order is still at it', async () => {
      const v1 = await create();
      await store.recordLateEvent(late(v1, { deadline: at(LEASE) }));
      const [held] = await claimHeld(v1.orderId, at(LEASE));
      const ending = { status: 'compensated' as const, outcome: 'compensated', response: '{"refund":1}', orderId: v1.orderId, version: 1, messages: [message(v1.orderId, 7)] };
      // A transition moved the order since the ending was decided on it: nothing ends, and it is looked at again now.
      await commitWith(store, step((await store.load(v1.orderId))!, 'B'));
      const messages = await outboxCount(v1.orderId);
      const before = new Date();
      expect(await store.settleHeldEvent(held.id, { ...ending, orderVersion: 1 })).toBe(false);
      expect((await store.listLateEvents(v1.orderId)).map((e) => [e.status, e.outcome])).toEqual([['held', null]]);
      expect(await outboxCount(v1.orderId)).toBe(messages);
      expect(await claimHeld(v1.orderId, new Date(before.getTime() + 1_000))).toMatchObject([{ id: held.id }]);
      // "Later", decided on the order before it moved (a wake since made it due): due at once, not later.
      expect(await store.settleHeldEvent(held.id, { nextCheckAt: new Date(Date.now() + 3_600_000), orderId: v1.orderId, orderVersion: 1 })).toBe(false);
      expect(await claimHeld(v1.orderId, new Date(Date.now() + 1_000))).toMatchObject([{ id: held.id }]);
      // "Later", decided on the order as it is: later it is.
      await store.settleHeldEvent(held.id, { nextCheckAt: new Date(Date.now() + 3_600_000), orderId: v1.orderId, orderVersion: 2 });
      expect(await claimHeld(v1.orderId, new Date(Date.now() + 1_000))).toEqual([]);
      // An ending decided before an operator paused the order waits, as the order's events do.
      await db.sql('UPDATE fsm_order SET paused_at = ?, pause_reason = ? WHERE id = ?', [db.time(new Date()), 'audit', v1.orderId]);
      expect(await store.settleHeldEvent(held.id, { ...ending, orderVersion: 2 })).toBe(false);
      expect((await store.listLateEvents(v1.orderId)).map((e) => e.status)).toEqual(['held']);
      await db.sql('UPDATE fsm_order SET paused_at = NULL, pause_reason = NULL WHERE id = ?', [v1.orderId]);
      // Decided again on the order as it is now: it ends, with its message, and its flag on the order.
      expect(await store.settleHeldEvent(held.id, { ...ending, orderVersion: 2, flag: 'owed back' })).toBe(true);
      expect((await store.listLateEvents(v1.orderId)).map((e) => [e.status, e.outcome])).toEqual([['compensated', 'compensated']]);
      expect(await outboxCount(v1.orderId)).toBe(messages + 1);
      expect((await store.load(v1.orderId))!.flag).toMatchObject({ reason: 'owed back' });
    });

    it('lists the timers a version scheduled that have not fired, for a migration to carry over', async () => {
      const order = newOrder();
      const v1 = await commitWith(store, step(order, 'A'), async () => ({ response: '{}', timers: [{ event: 'TIMEOUT', fireAt: at(LEASE) }] }));
      expect(await store.pendingTimers(v1.orderId, 1)).toEqual([{ event: 'TIMEOUT', fireAt: at(LEASE) }]);
      expect(await store.pendingTimers(v1.orderId, 2)).toEqual([]);
      await db.sql('DELETE FROM fsm_timer WHERE order_id = ?', [v1.orderId]);
    });
  });

  describe('stuck orders', () => {
    it('requeues an overdue order once, with its messages, and skips a flagged one', async () => {
      // Due before anything another test leaves: only these two are overdue at the clock below.
      const flagged = newOrder();
      await create(flagged, { autoDueAt: new Date(Date.UTC(1999, 0, 1)) });
      await store.flagOrder(flagged.orderId, 'dead-lettered', new Date());
      expect((await store.load(flagged.orderId))!.flag).toMatchObject({ reason: 'dead-lettered' });
      const overdue = newOrder();
      // It follows machine version 2: the sweeper queues that version's work for it.
      await create(overdue, { autoDueAt: new Date(Date.UTC(1999, 0, 1, 0, 0, 1)), machineVersion: 2 });

      // A clock of its own, just after them: nothing else in the table is due by then.
      const now = new Date(Date.UTC(1999, 0, 1, 0, 0, 2));
      const stuck = (await store.findStuck(now, 10)).filter((o) => [flagged.orderId, overdue.orderId].includes(o.orderId));
      expect(stuck).toEqual([{ orderId: overdue.orderId, state: 'A', version: 1, bizCode: 'TAXI', sceneId: 'CITY', machineVersion: 2 }]);
      const work = { messageId: `${overdue.orderId}:work:1`, kind: 'work' as const, routingKey: 'order.work', payload: '{}' };
      const nextDueAt = new Date(now.getTime() + LEASE);
      expect(await store.requeue(stuck[0]!, [work], nextDueAt, now)).toBe(true);
      expect(await count("SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND kind = 'work'", [overdue.orderId])).toBe(1);
      // Its due time moved on: not found, nor requeued, again before then; once due again, the same
      // message id is the same message, not a second one and not an error.
      expect((await store.findStuck(now, 10)).filter((o) => o.orderId === overdue.orderId)).toEqual([]);
      expect(await store.requeue(stuck[0]!, [work], nextDueAt, now)).toBe(false);
      expect(await store.requeue(stuck[0]!, [work], new Date(nextDueAt.getTime() + LEASE), nextDueAt)).toBe(true);
      expect(await count("SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND kind = 'work'", [overdue.orderId])).toBe(1);
      // An order that moved on since it was found is not requeued.
      const moved = await commitWith(store, step((await store.load(overdue.orderId))!, 'B'));
      expect(await store.requeue({ ...stuck[0]!, version: 1 }, [], null, new Date(Date.UTC(2999, 0, 1)))).toBe(false);
      expect(moved.version).toBe(2);
      // Its next transition clears the flag.
      const v1 = (await store.load(flagged.orderId))!;
      expect(v1.flag).toBeDefined();
      const committed = await commitWith(store, step(v1, 'B'));
      expect((await store.load(flagged.orderId))!.flag).toBeUndefined();
      // And the order the commit answers is the one stored: no flag either.
      expect(committed.flag).toBeUndefined();
    });
  });

  describe('operators', () => {
    const action = (orderId: string, kind: string, extra: Partial<OperatorActionWrite> = {}): OperatorActionWrite => ({
      orderId,
      kind,
      actor: 'olga',
      reason: `${kind} in the contract`,
      at: new Date(),
      ...extra,
    });
    const kindsOf = async (orderId: string) => (await store.orderHistory(orderId, 100)).actions.map((a) => a.kind);
    /** Moves an order of a test out of every list the next run could look at (overdue, paused). */
    const moveOn = async (orderId: string) => {
      await commitWith(store, step((await store.load(orderId))!, 'Z', { overridesPause: true }));
      await db.sql('DELETE FROM fsm_outbox WHERE order_id = ?', [orderId]);
    };

    it('pauses an order: every transition is refused but a forced one, until it is resumed with its work and its held timers', async () => {
      const v1 = await create(newOrder(), { autoDueAt: new Date(Date.UTC(1999, 0, 1)) });
      expect(await store.pauseOrder({ orderId: v1.orderId, version: 2 }, action(v1.orderId, 'pause'))).toBe(false);
      expect(await store.pauseOrder(v1, action(v1.orderId, 'pause', { reason: 'looking into it' }))).toBe(true);
      expect(await store.pauseOrder(v1, action(v1.orderId, 'pause'))).toBe(false);
      expect((await store.load(v1.orderId))!.paused).toMatchObject({ reason: 'looking into it', at: expect.any(Date) });

      // The pause fences every write as the version does: nothing of a refused transition is written.
      let saved = false;
      await expect(commitWith(store, step(v1, 'B', { messages: [message(v1.orderId, 1)] }))).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
      await expect(commitWith(store, step(v1, 'B'), async () => ((saved = true), NOTHING))).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
      expect(saved).toBe(false);
      expect(await store.listTransitions(v1.orderId)).toHaveLength(1);
      expect(await outboxCount(v1.orderId)).toBe(0);
      // The sweeper leaves it alone.
      const late = new Date(Date.UTC(1999, 0, 2));
      expect((await store.findStuck(late, 10_000)).filter((o) => o.orderId === v1.orderId)).toEqual([]);
      expect(await store.requeue({ ...v1, version: 1 }, [], null, late)).toBe(false);

      // An operator's forced move applies, with its audit row; the order stays paused.
      const timers = [{ event: 'TIMEOUT', fireAt: new Date(Date.UTC(1999, 0, 1)) }];
      const forced = await commitWith(
        store,
        step(v1, 'B', { overridesPause: true, source: 'operator', actor: 'olga', reason: 'forced', audit: action(v1.orderId, 'force'), outcome: { response: '{}', timers } }),
      );
      expect(await store.load(v1.orderId)).toMatchObject({ state: 'B', version: 2, paused: { reason: 'looking into it' } });
      // A timer due while paused is held back (the poller's part), pending and noted.
      const [timer] = await db.sql('SELECT id FROM fsm_timer WHERE order_id = ?', [v1.orderId]);
      await store.settleTimer(Number(timer!.id), { retryAt: new Date(Date.UTC(2999, 0, 1)), held: true });
      expect((await store.orderHistory(v1.orderId, 100)).timers).toMatchObject([{ id: Number(timer!.id), event: 'TIMEOUT', firedAt: null, outcome: 'paused' }]);

      // Resumed at its version only: its work queued again, its held timers due now, its audit row.
      const work = { messageId: `${v1.orderId}:2:work:resume`, kind: 'work' as const, routingKey: 'work', payload: '{}' };
      const now = new Date();
      const autoDueAt = new Date(now.getTime() + LEASE);
      expect(await store.resumeOrder({ orderId: v1.orderId, version: 1 }, action(v1.orderId, 'resume'), { messages: [work], autoDueAt }, now)).toBe(false);
      expect(await store.resumeOrder(forced, action(v1.orderId, 'resume'), { messages: [work], autoDueAt }, now)).toBe(true);
      expect(await store.resumeOrder(forced, action(v1.orderId, 'resume'), { messages: [work], autoDueAt }, now)).toBe(false);
      const resumed = (await store.listOrders({ orderIds: [v1.orderId], order: 'desc', limit: 1 }))[0]!;
      expect(resumed.paused).toBeUndefined();
      expect(resumed.autoDueAt!.getTime()).toBe(autoDueAt.getTime());
      expect(await count("SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND kind = 'work'", [v1.orderId])).toBe(1);
      const [held] = (await store.orderHistory(v1.orderId, 100)).timers;
      expect(held).toMatchObject({ outcome: null, firedAt: null });
      expect(held!.fireAt.getTime()).toBe(now.getTime());
      expect(await kindsOf(v1.orderId)).toEqual(['pause', 'force', 'resume']);
      // And it takes transitions again.
      await expect(commitWith(store, step(forced, 'C'))).resolves.toMatchObject({ version: 3 });
      await moveOn(v1.orderId);
    });

    it("writes an act's audit row with its transition, and none when the transition loses", async () => {
      const v1 = await create();
      await commitWith(store, step(v1, 'B'));
      await expect(commitWith(store, step(v1, 'C', { source: 'operator', audit: action(v1.orderId, 'force') }))).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
      expect(await kindsOf(v1.orderId)).toEqual([]);
      await store.recordOperatorAction(action(v1.orderId, 'discard', { detail: { deadLetter: 7 } }));
      expect((await store.orderHistory(v1.orderId, 100)).actions).toMatchObject([
        { orderId: v1.orderId, kind: 'discard', actor: 'olga', reason: 'discard in the contract', detail: { deadLetter: 7 }, at: expect.any(Date), id: expect.any(Number) },
      ]);
    });

    it('lists orders newest first by a keyset, page by page, and by every filter', async () => {
      const bizCode = `list-${randomUUID().slice(0, 8)}`;
      const base = Date.UTC(2001, 0, 1);
      // Seven orders; two share a time, and their ids break the tie.
      const made: FsmOrder[] = [];
      for (const [i, ms] of [0, 1000, 2000, 2000, 3000, 4000, 5000].entries()) {
        const order = { ...newOrder(), bizCode, sceneId: i % 2 === 1 ? 'APP' : 'WEB' };
        made.push(await commitWith(store, step(order, i < 4 ? 'A' : 'B', { at: new Date(base + ms) })));
      }
      const listed = await store.listOrders({ bizCode, order: 'desc', limit: 100 });
      expect(listed.map((o) => o.updatedAt!.getTime())).toEqual([5000, 4000, 3000, 2000, 2000, 1000, 0].map((ms) => base + ms));
      expect(listed[0]).toMatchObject({ orderId: made[6]!.orderId, state: 'B', version: 1, bizCode, sceneId: 'WEB', autoDueAt: null });
      const ids = (orders: readonly ListedOrder[]) => orders.map((o) => o.orderId);

      // Page by page, in both directions: every order once, in the same order as one page.
      for (const order of ['desc', 'asc'] as const) {
        const pages: string[] = [];
        let after: { updatedAt: Date; orderId: string } | undefined;
        for (;;) {
          const page = await store.listOrders({ bizCode, order, after, limit: 3 });
          pages.push(...ids(page));
          if (page.length < 3) break;
          after = { updatedAt: page.at(-1)!.updatedAt!, orderId: page.at(-1)!.orderId };
        }
        expect(pages).toEqual(order === 'desc' ? ids(listed) : ids(listed).reverse());
      }
      // The two sharing a time come apart by id.
      const tied = listed.slice(3, 5);
      expect(ids(await store.listOrders({ bizCode, order: 'desc', after: { updatedAt: tied[0]!.updatedAt!, orderId: tied[0]!.orderId }, limit: 1 }))).toEqual([tied[1]!.orderId]);

      expect(ids(await store.listOrders({ bizCode, state: 'B', order: 'desc', limit: 100 }))).toEqual(ids(listed.slice(0, 3)));
      expect(ids(await store.listOrders({ bizCode, sceneId: 'APP', order: 'desc', limit: 100 }))).toEqual(ids(listed.filter((o) => o.sceneId === 'APP')));
      expect(ids(await store.listOrders({ bizCode, updatedBefore: new Date(base + 2000), order: 'desc', limit: 100 }))).toEqual(ids(listed.slice(5)));
      expect(ids(await store.listOrders({ orderIds: [made[0]!.orderId, made[6]!.orderId], order: 'asc', limit: 100 }))).toEqual([made[0]!.orderId, made[6]!.orderId]);
      expect(await store.listOrders({ orderIds: [], order: 'asc', limit: 100 })).toEqual([]);
      await store.pauseOrder(made[2]!, action(made[2]!.orderId, 'pause'));
      expect(ids(await store.listOrders({ bizCode, paused: true, order: 'desc', limit: 100 }))).toEqual([made[2]!.orderId]);
      expect(await store.listOrders({ bizCode, paused: false, order: 'desc', limit: 100 })).toHaveLength(6);
      expect(await store.listOrders({ bizCode, order: 'desc', limit: 2 })).toHaveLength(2);
    });

    it('counts orders per state and bizCode@sceneId', async () => {
      const bizCode = `count-${randomUUID().slice(0, 8)}`;
      for (const [state, sceneId, n] of [['A', 'APP', 3], ['A', 'WEB', 1], ['B', 'APP', 2]] as const) {
        for (let i = 0; i < n; i++) await commitWith(store, step({ ...newOrder(), bizCode, sceneId }, state));
      }
      const counts = (await store.countOrders(['A', 'B', 'NOT_A_STATE'])).filter((c) => c.bizCode === bizCode);
      expect(counts.sort((a, b) => `${a.state}${a.sceneId}`.localeCompare(`${b.state}${b.sceneId}`))).toEqual([
        { state: 'A', bizCode, sceneId: 'APP', count: 3 },
        { state: 'A', bizCode, sceneId: 'WEB', count: 1 },
        { state: 'B', bizCode, sceneId: 'APP', count: 2 },
      ]);
      expect((await store.countOrders(['B'])).filter((c) => c.bizCode === bizCode)).toEqual([{ state: 'B', bizCode, sceneId: 'APP', count: 2 }]);
      expect(await store.countOrders([])).toEqual([]);
    });

    it('finds overdue orders, flagged and paused ones too, and orders whose messages wait unpublished', async () => {
      // A clock of its own, long ago: nothing another test leaves is due or waiting by then.
      const clock = new Date(Date.UTC(1985, 0, 1) + randomInt(0, 2 ** 36));
      const at = (ms: number) => new Date(clock.getTime() + ms);
      const overdue = await create(newOrder(), { autoDueAt: at(0), at: at(0), messages: [] });
      const paused = await create(newOrder(), { autoDueAt: at(1), at: at(1) });
      await store.pauseOrder(paused, action(paused.orderId, 'pause'));
      const notYet = await create(newOrder(), { autoDueAt: at(60_000), at: at(2), messages: [message('x', 1)].map((m) => ({ ...m, messageId: `${randomUUID()}:1` })) });
      const waiting = await create(newOrder(), { at: at(3), messages: [1, 2].map((n) => ({ ...message('x', n), messageId: `${randomUUID()}:${n}` })) });
      const mine = [overdue, paused, notYet, waiting].map((o) => o.orderId);
      try {
        const found = (await store.findOverdue(at(1), 10_000)).filter((o) => mine.includes(o.orderId));
        expect(found.map((o) => o.orderId)).toEqual([overdue.orderId, paused.orderId]);
        expect(found[1]!.paused).toMatchObject({ reason: 'pause in the contract' });
        expect(found[0]!.autoDueAt!.getTime()).toBe(at(0).getTime());

        const unpublished = (await store.findUnpublished(at(4), 10_000)).filter((b) => mine.includes(b.orderId));
        expect(unpublished).toEqual([
          { orderId: notYet.orderId, count: 1, oldestCreatedAt: at(2) },
          { orderId: waiting.orderId, count: 2, oldestCreatedAt: at(3) },
        ]);
        expect((await store.findUnpublished(at(3), 10_000)).filter((b) => mine.includes(b.orderId)).map((b) => b.orderId)).toEqual([notYet.orderId]);
      } finally {
        for (const orderId of mine) await moveOn(orderId);
      }
    });

    it('keeps a dead letter once per message, flags its order, and settles it once', async () => {
      const v1 = await create();
      const work: WorkMessage = { messageId: `${v1.orderId}:1:work`, orderId: v1.orderId, version: 1, state: 'A', event: 'AUTO', origin: 'transition' };
      await store.recordDeadLetter({ work, reason: 'CHECK_FAILED: billing is down', attempts: 3, at: new Date() });
      // A broker that hands the same message over again: still one letter.
      await store.recordDeadLetter({ work, reason: 'CHECK_FAILED: again', attempts: 4, at: new Date() });
      const [letter, ...more] = await store.listDeadLetters({ orderIds: [v1.orderId], limit: 10 });
      expect(more).toEqual([]);
      expect(letter).toMatchObject({
        messageId: work.messageId,
        orderId: v1.orderId,
        version: 1,
        state: 'A',
        event: 'AUTO',
        reason: 'CHECK_FAILED: billing is down',
        attempts: 3,
        status: 'dead',
        settledAt: null,
        settledBy: null,
        outcome: null,
      });
      expect((await store.load(v1.orderId))!.flag).toMatchObject({ reason: expect.stringContaining('AUTO dead-lettered: CHECK_FAILED') });
      const find = (query: Partial<Parameters<OpsStore['listDeadLetters']>[0]>) => store.listDeadLetters({ ids: [letter!.id], limit: 10, ...query });
      expect(await find({ status: 'dead', event: 'AUTO' })).toHaveLength(1);
      expect(await find({ status: 'discarded' })).toEqual([]);
      expect(await find({ event: 'OTHER' })).toEqual([]);
      expect(await find({ beforeId: letter!.id })).toEqual([]);
      expect(await find({ beforeId: letter!.id + 1 })).toHaveLength(1);
      expect(await store.listDeadLetters({ ids: [], limit: 10 })).toEqual([]);

      // A redrive that did not apply keeps it dead, with what it found.
      const at = new Date();
      expect(await store.settleDeadLetter(letter!.id, { status: 'dead', outcome: 'CHECK_FAILED: still down', actor: 'olga', reason: 'try', at }, null)).toBe(true);
      expect((await find({}))[0]).toMatchObject({ status: 'dead', outcome: 'CHECK_FAILED: still down', settledAt: null });
      // Settled once, however many try at once.
      const settles = await Promise.all(
        [1, 2, 3].map(() =>
          store.settleDeadLetter(letter!.id, { status: 'redriven', outcome: 'applied A -> B', actor: 'olga', reason: 'billing is back', at }, action(v1.orderId, 'redrive')),
        ),
      );
      expect(settles.filter(Boolean)).toHaveLength(1);
      expect(await store.settleDeadLetter(letter!.id, { status: 'discarded', outcome: null, actor: 'olga', reason: 'late', at }, action(v1.orderId, 'discard'))).toBe(false);
      const history = await store.orderHistory(v1.orderId, 100);
      expect(history.deadLetters).toMatchObject([{ id: letter!.id, status: 'redriven', settledBy: 'olga', settleReason: 'billing is back', outcome: 'applied A -> B' }]);
      expect(history.deadLetters[0]!.settledAt!.getTime()).toBe(at.getTime());
      expect(history.actions.map((a) => a.kind)).toEqual(['redrive']);
    });

    it('keeps each work attempt that did not apply, oldest first, its message cut to its column', async () => {
      const v1 = await create();
      const work: WorkMessage = { messageId: `${v1.orderId}:1:work`, orderId: v1.orderId, version: 1, state: 'A', event: 'AUTO', origin: 'transition' };
      const first = new Date(Date.UTC(2030, 0, 1, 12, 0, 0, 123));
      const retryAt = new Date(first.getTime() + 1_000);
      await store.recordWorkAttempt({ work, attempt: 1, outcome: 'retry', errorCode: 'INTERNAL_ERROR', message: 'billing is down', retryAt, at: first });
      await store.recordWorkAttempt({ work, attempt: 2, outcome: 'dead-lettered', errorCode: 'CHECK_FAILED', message: 'x'.repeat(600), retryAt: null, at: retryAt });
      const { workAttempts } = await store.orderHistory(v1.orderId, 100);
      expect(workAttempts).toEqual([
        { id: expect.any(Number), version: 1, state: 'A', event: 'AUTO', attempt: 1, outcome: 'retry', errorCode: 'INTERNAL_ERROR', message: 'billing is down', retryAt, at: first },
        {
          id: expect.any(Number),
          version: 1,
          state: 'A',
          event: 'AUTO',
          attempt: 2,
          outcome: 'dead-lettered',
          errorCode: 'CHECK_FAILED',
          message: 'x'.repeat(512),
          retryAt: null,
          at: retryAt,
        },
      ]);
      expect(workAttempts[0]!.id).toBeLessThan(workAttempts[1]!.id);
      // The latest when there are more; another order's are not its.
      expect((await store.orderHistory(v1.orderId, 1)).workAttempts.map((a) => a.attempt)).toEqual([2]);
      expect((await store.orderHistory(newOrder().orderId, 100)).workAttempts).toEqual([]);
    });

    it("answers an order's history: transitions, messages and whether each left, timers, the latest of each", async () => {
      const order = newOrder();
      const v1 = await create(order, { messages: [message(order.orderId, 1)] });
      await commitWith(store, step(v1, 'B', { messages: [message(order.orderId, 2)] }), async () => ({ response: '{}', timers: [{ event: 'T', fireAt: new Date(Date.UTC(2999, 0, 1)) }] }));
      await relayAll((seen) => seen.some((m) => m.messageId === `${order.orderId}:1`), 100);
      const history = await store.orderHistory(order.orderId, 100);
      expect(history.transitions.map((t) => t.toState)).toEqual(['A', 'B']);
      expect(history.messages.map((m) => [m.messageId, m.kind, m.version])).toEqual([
        [`${order.orderId}:1`, 'status', 1],
        [`${order.orderId}:2`, 'status', 2],
      ]);
      expect(history.messages[0]!.publishedAt).toBeInstanceOf(Date);
      expect(history.timers).toMatchObject([{ version: 2, state: 'B', event: 'T', firedAt: null, outcome: null }]);
      expect(history.deadLetters).toEqual([]);
      expect(history.workAttempts).toEqual([]);
      // The latest of each when there are more.
      expect((await store.orderHistory(order.orderId, 1)).transitions.map((t) => t.version)).toEqual([2]);
      await db.sql('DELETE FROM fsm_timer WHERE order_id = ?', [order.orderId]);
    });
  });
});
