import { randomInt, randomUUID } from 'node:crypto';
import { type ClaimedMessage, type FsmOrder, type OrderStore, type OutboxMessage, type SaveOutcome, type TransitionWrite } from '@order-fsm/core';
import { MysqlOrderStore, ORDER_FSM_MIGRATIONS } from '@order-fsm/core/mysql';
import { SqliteOrderStore } from '@order-fsm/core/sqlite';
import { ORDER_FSM_POSTGRES_MIGRATIONS, PostgresOrderStore } from '@order-fsm/core/postgres';
import { DataSource, type EntityManager } from 'typeorm';
import { FSM_TABLES } from '../libs/order-fsm/src/adapters/sql/schema.js';

/**
 * One contract for every OrderStore: the same behaviours, on MariaDB (MysqlOrderStore), PostgreSQL
 * (PostgresOrderStore) and SQLite (SqliteOrderStore on sql.js). The tables are shared with whatever
 * else ran on the database, so every test uses ids of its own and looks only at its own rows.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test';
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';

interface Adapter {
  store: OrderStore;
  /** A statement written with `?` placeholders, on the adapter's database (through `manager` when given). */
  sql(statement: string, params?: unknown[], manager?: { query(q: string, p: unknown[]): Promise<unknown> }): Promise<Array<Record<string, unknown>>>;
  /** A time as the adapter's tables store it. */
  time(date: Date): unknown;
  /** What the database holds of a table: its columns (name -> nullable) and its unique keys and indexes, by columns. */
  describe(table: string): Promise<TableShape>;
  close(): Promise<void>;
}

interface TableShape {
  columns: Record<string, boolean>;
  /** `unique:a,b` or `index:a,b`, one per key or index (the primary key is not listed). */
  keys: string[];
}

async function mysqlShape(dataSource: DataSource, table: string): Promise<TableShape> {
  const columns: Array<{ name: string; nullable: string }> = await dataSource.query(
    'SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?',
    [table],
  );
  const indexes: Array<{ name: string; column: string; unique: number }> = await dataSource.query(
    `SELECT index_name AS name, column_name AS \`column\`, non_unique = 0 AS \`unique\` FROM information_schema.statistics
      WHERE table_schema = DATABASE() AND table_name = ? AND index_name <> 'PRIMARY' ORDER BY index_name, seq_in_index`,
    [table],
  );
  return shapeOf(columns.map((c) => [c.name, c.nullable === 'YES']), indexes.map((i) => [i.name, i.column, Number(i.unique) === 1]));
}

async function postgresShape(dataSource: DataSource, table: string): Promise<TableShape> {
  const columns: Array<{ name: string; nullable: string }> = await dataSource.query(
    'SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [table],
  );
  const indexes: Array<{ name: string; column: string; unique: boolean }> = await dataSource.query(
    `SELECT i.relname AS name, a.attname AS column, x.indisunique AS unique
       FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
       JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) ON true
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary ORDER BY i.relname, k.n`,
    [table],
  );
  return shapeOf(columns.map((c) => [c.name, c.nullable === 'YES']), indexes.map((i) => [i.name, i.column, i.unique]));
}

async function sqliteShape(dataSource: DataSource, table: string): Promise<TableShape> {
  const columns: Array<{ name: string; notnull: number; pk: number }> = await dataSource.query(`PRAGMA table_info(${table})`);
  const rows: Array<[string, string, boolean]> = [];
  for (const index of (await dataSource.query(`PRAGMA index_list(${table})`)) as Array<{ name: string; unique: number; origin: string }>) {
    if (index.origin === 'pk') continue;
    for (const column of (await dataSource.query(`PRAGMA index_info(${index.name})`)) as Array<{ name: string }>) rows.push([index.name, column.name, index.unique === 1]);
  }
  return shapeOf(columns.map((c) => [c.name, c.notnull === 0 && c.pk === 0]), rows);
}

function shapeOf(columns: Array<[string, boolean]>, indexRows: Array<[name: string, column: string, unique: boolean]>): TableShape {
  const byName = new Map<string, { unique: boolean; columns: string[] }>();
  for (const [name, column, unique] of indexRows) {
    const entry = byName.get(name) ?? { unique, columns: [] };
    entry.columns.push(column);
    byName.set(name, entry);
  }
  const keys = [...new Set([...byName.values()].map((i) => `${i.unique ? 'unique' : 'index'}:${i.columns.join(',')}`))].sort();
  return { columns: Object.fromEntries(columns), keys };
}

/** What FSM_TABLES says a table must be. */
function describedShape(table: (typeof FSM_TABLES)[number]): TableShape {
  return {
    columns: Object.fromEntries(table.columns.map((c) => [c.name, c.nullable === true])),
    keys: [...table.unique.map(([, columns]) => `unique:${columns.join(',')}`), ...table.indexes.map(([, columns]) => `index:${columns.join(',')}`)].sort(),
  };
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

const fixtures: Array<[string, Fixture]> = [
  [
    'MariaDB (MysqlOrderStore)',
    {
      server: true,
      async open() {
        const dataSource = new DataSource({ type: 'mysql', url: DATABASE_URL, timezone: 'Z', migrations: [...ORDER_FSM_MIGRATIONS], migrationsRun: true });
        await dataSource.initialize();
        return {
          store: new MysqlOrderStore(dataSource),
          sql: (statement, params = [], manager = dataSource) => manager.query(statement, params) as Promise<Array<Record<string, unknown>>>,
          time: (date) => date,
          describe: (table) => mysqlShape(dataSource, table),
          close: () => dataSource.destroy(),
        };
      },
    },
  ],
  [
    'MariaDB with multipleStatements (a transition in one round trip)',
    {
      server: true,
      async open() {
        const dataSource = new DataSource({
          type: 'mysql', url: DATABASE_URL, timezone: 'Z', migrations: [...ORDER_FSM_MIGRATIONS], migrationsRun: true, multipleStatements: true,
        });
        await dataSource.initialize();
        return {
          store: new MysqlOrderStore(dataSource),
          sql: (statement, params = [], manager = dataSource) => manager.query(statement, params) as Promise<Array<Record<string, unknown>>>,
          time: (date) => date,
          describe: (table) => mysqlShape(dataSource, table),
          close: () => dataSource.destroy(),
        };
      },
    },
  ],
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
  let store: OrderStore;
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
      const first = step(order, 'A', { caller: 'alice', source: 'api' });
      const v1 = await commitWith(store, first);
      const second = step(v1, 'B', { caller: '@system', source: 'worker', at: new Date(first.at.getTime() + 5) });
      await commitWith(store, second);
      expect(await store.listTransitions(order.orderId)).toEqual([
        { orderId: order.orderId, version: 1, event: 'TO_A', fromState: 'INIT', toState: 'A', requestId: first.requestId, caller: 'alice', source: 'api', createdAt: first.at },
        { orderId: order.orderId, version: 2, event: 'TO_B', fromState: 'A', toState: 'B', requestId: second.requestId, caller: '@system', source: 'worker', createdAt: second.at },
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

  describe('stuck orders', () => {
    it('requeues an overdue order once, with its messages, and skips a flagged one', async () => {
      // Due before anything another test leaves: only these two are overdue at the clock below.
      const flagged = newOrder();
      await create(flagged, { autoDueAt: new Date(Date.UTC(1999, 0, 1)) });
      await store.flagOrder(flagged.orderId, 'dead-lettered', new Date());
      expect((await store.load(flagged.orderId))!.flag).toMatchObject({ reason: 'dead-lettered' });
      const overdue = newOrder();
      await create(overdue, { autoDueAt: new Date(Date.UTC(1999, 0, 1, 0, 0, 1)) });

      // A clock of its own, just after them: nothing else in the table is due by then.
      const now = new Date(Date.UTC(1999, 0, 1, 0, 0, 2));
      const stuck = (await store.findStuck(now, 10)).filter((o) => [flagged.orderId, overdue.orderId].includes(o.orderId));
      expect(stuck).toEqual([{ orderId: overdue.orderId, state: 'A', version: 1, bizCode: 'TAXI', sceneId: 'CITY' }]);
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
      await commitWith(store, step(v1, 'B'));
      expect((await store.load(flagged.orderId))!.flag).toBeUndefined();
    });
  });
});
