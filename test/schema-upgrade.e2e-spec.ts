import { randomInt } from 'node:crypto';
import {
  MysqlOrderStore,
  ORDER_FSM_MIGRATIONS,
  OrderFsmLateEventCount1796600000000,
  OrderFsmMachineVersions1796500000000,
  OrderFsmOperations1796300000000,
  OrderFsmTraceContext1796700000000,
  OrderFsmWorkAttempts1796400000000,
} from '@order-fsm/core/mysql';
import { OrderFsmPostgresOperations1796300000000, OrderFsmPostgresTraceContext1796700000000, OrderFsmPostgresWorkAttempts1796400000000, PostgresOrderStore } from '@order-fsm/core/postgres';
import { SqliteOrderStore } from '@order-fsm/core/sqlite';
import { DataSource } from 'typeorm';
import { POSTGRES_SCHEMA } from '../libs/order-fsm/src/adapters/postgres/postgres-order-store.js';
import { createStatements, FSM_TABLES, type Table } from '../libs/order-fsm/src/adapters/sql/schema.js';
import { SQLITE_SCHEMA } from '../libs/order-fsm/src/adapters/sqlite/sqlite-order-store.js';
import { describedShape, mysqlShape, postgresShape, sqliteShape, type TableShape } from './support/schema-shape.js';

/**
 * A database that an earlier release created, before operators could pause orders, audit their acts
 * and redrive dead letters (and before work attempts were kept for the timeline), is brought up to the one description of the tables on every database:
 * MariaDB by its migration (again and again without harm), PostgreSQL by its migration or by
 * ensureSchema(), SQLite by ensureSchema(). Its rows stay readable.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test';
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';

const ADDED_TABLES = ['fsm_operator_action', 'fsm_dead_letter', 'fsm_work_attempt'];
const ADDED_COLUMNS: Record<string, string[]> = { fsm_order: ['paused_at', 'pause_reason'], fsm_transition: ['actor', 'reason'] };
const ADDED_INDEXES = ['idx_fsm_order_updated', 'idx_fsm_order_dims_updated', 'idx_fsm_order_state_dims'];

/** The tables as the release before operations had them. */
const BEFORE_OPERATIONS: Table[] = FSM_TABLES.filter((t) => !ADDED_TABLES.includes(t.name)).map((t) => ({
  ...t,
  columns: t.columns.filter((c) => !(ADDED_COLUMNS[t.name] ?? []).includes(c.name)),
  indexes: t.indexes.filter(([name]) => !ADDED_INDEXES.includes(name)),
}));

/** An order and its transition, written with the columns the earlier release had. */
const OLD_ROWS: Array<[string, unknown[]]> = [
  [
    'INSERT INTO fsm_order (id, biz_code, scene_id, state, version, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ['old-1', 'TAXI', 'APP', 'CREATED', 1, '{}', 'T', 'T'],
  ],
  [
    'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, caller, source, created_at, request_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ['old-1', 1, 'CREATE', 'INIT', 'CREATED', 'r-1', 'app', 'api', 'T', 'h'],
  ],
];
const at = new Date(Date.UTC(2020, 0, 1));
const oldRows = (time: unknown, numbered: boolean): Array<[string, unknown[]]> =>
  OLD_ROWS.map(([sql, params]) => {
    let n = 0;
    return [numbered ? sql.replace(/\?/g, () => `$${++n}`) : sql, params.map((p) => (p === 'T' ? time : p))];
  });

async function expectDescribed(describe: (table: string) => Promise<TableShape>): Promise<void> {
  for (const table of FSM_TABLES) {
    const actual = await describe(table.name);
    const described = describedShape(table);
    expect([table.name, actual.columns]).toEqual([table.name, described.columns]);
    expect([table.name, actual.keys.filter((key) => described.keys.includes(key))]).toEqual([table.name, described.keys]);
  }
}

async function expectOldRowsRead(store: MysqlOrderStore | PostgresOrderStore | SqliteOrderStore): Promise<void> {
  // An order of an earlier release follows the machine's first version; its log rows too, with no payload or processor known.
  expect(await store.load('old-1')).toMatchObject({ orderId: 'old-1', state: 'CREATED', version: 1, machineVersion: 1 });
  expect((await store.load('old-1'))!.paused).toBeUndefined();
  // A row written before the log had an actor: whoever sent it.
  expect(await store.listTransitions('old-1')).toMatchObject([{ caller: 'app', actor: 'app', reason: null, machineVersion: 1, processor: null }]);
  expect(await store.listOrders({ order: 'desc', limit: 10 })).toMatchObject([{ orderId: 'old-1', autoDueAt: null }]);
}

describe('a database of the release before operations, upgraded', () => {
  it('MariaDB: by the migration, which runs again without harm and reverts', async () => {
    const name = `fsm_upgrade_${process.pid}_${randomInt(1e9)}`;
    const admin = new DataSource({ type: 'mysql', url: DATABASE_URL });
    await admin.initialize();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(DATABASE_URL);
    url.pathname = `/${name}`;
    const migrations = [...ORDER_FSM_MIGRATIONS];
    expect(migrations.slice(-5)).toEqual([
      OrderFsmOperations1796300000000,
      OrderFsmWorkAttempts1796400000000,
      OrderFsmMachineVersions1796500000000,
      OrderFsmLateEventCount1796600000000,
      OrderFsmTraceContext1796700000000,
    ]);
    const dataSource = new DataSource({ type: 'mysql', url: url.toString(), timezone: 'Z', migrations: migrations.slice(0, -5), migrationsRun: true });
    try {
      await dataSource.initialize();
      for (const [sql, params] of oldRows(at, false)) await dataSource.query(sql, params);
      const runner = dataSource.createQueryRunner();
      try {
        const migration = new OrderFsmOperations1796300000000();
        const attempts = new OrderFsmWorkAttempts1796400000000();
        const versions = new OrderFsmMachineVersions1796500000000();
        const lateCount = new OrderFsmLateEventCount1796600000000();
        const traceContext = new OrderFsmTraceContext1796700000000();
        await migration.up(runner);
        await migration.up(runner);
        await attempts.up(runner);
        await attempts.up(runner);
        await versions.up(runner);
        await versions.up(runner);
        await lateCount.up(runner);
        await lateCount.up(runner);
        await traceContext.up(runner);
        await traceContext.up(runner);
        await expectDescribed((table) => mysqlShape(dataSource, table));
        await traceContext.down(runner);
        expect((await mysqlShape(dataSource, 'fsm_outbox')).columns).not.toHaveProperty('trace_context');
        await lateCount.down(runner);
        expect((await mysqlShape(dataSource, 'fsm_order')).columns).not.toHaveProperty('late_events');
        await versions.down(runner);
        expect(await runner.hasTable('fsm_late_event')).toBe(false);
        expect((await mysqlShape(dataSource, 'fsm_order')).columns).not.toHaveProperty('machine_version');
        await attempts.down(runner);
        expect(await runner.hasTable('fsm_work_attempt')).toBe(false);
        await migration.down(runner);
        expect((await mysqlShape(dataSource, 'fsm_order')).columns).not.toHaveProperty('paused_at');
        await migration.up(runner);
        await attempts.up(runner);
        await versions.up(runner);
        await lateCount.up(runner);
        await traceContext.up(runner);
        await expectDescribed((table) => mysqlShape(dataSource, table));
      } finally {
        await runner.release();
      }
      await expectOldRowsRead(new MysqlOrderStore(dataSource));
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
      await admin.query(`DROP DATABASE ${name}`);
      await admin.destroy();
    }
  });

  describe('PostgreSQL', () => {
    let admin: DataSource;
    const schemas: string[] = [];
    beforeAll(async () => {
      admin = new DataSource({ type: 'postgres', url: POSTGRES_URL });
      await admin.initialize();
    });
    afterAll(async () => {
      for (const schema of schemas) await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.destroy();
    });

    /** A schema of its own with the earlier release's tables and rows in it. */
    async function earlierRelease(): Promise<DataSource> {
      const schema = `fsm_upgrade_${process.pid}_${randomInt(1e9)}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      schemas.push(schema);
      const dataSource = new DataSource({ type: 'postgres', url: POSTGRES_URL, extra: { options: `-c search_path=${schema}` } });
      await dataSource.initialize();
      for (const statement of createStatements(POSTGRES_SCHEMA, BEFORE_OPERATIONS)) await dataSource.query(statement);
      for (const [sql, params] of oldRows(at, true)) await dataSource.query(sql, params);
      return dataSource;
    }

    it('by the migration, which runs again without harm and reverts', async () => {
      const dataSource = await earlierRelease();
      try {
        const runner = dataSource.createQueryRunner();
        try {
          const migration = new OrderFsmPostgresOperations1796300000000();
          const attempts = new OrderFsmPostgresWorkAttempts1796400000000();
          const traceContext = new OrderFsmPostgresTraceContext1796700000000();
          await migration.up(runner);
          await migration.up(runner);
          await attempts.up(runner);
          await attempts.up(runner);
          await expectDescribed((table) => postgresShape(dataSource, table));
          await traceContext.down(runner);
          expect((await postgresShape(dataSource, 'fsm_outbox')).columns).not.toHaveProperty('trace_context');
          await traceContext.up(runner);
          await traceContext.up(runner);
          await expectDescribed((table) => postgresShape(dataSource, table));
          await attempts.down(runner);
          expect(await runner.hasTable('fsm_work_attempt')).toBe(false);
          await migration.down(runner);
          expect((await postgresShape(dataSource, 'fsm_transition')).columns).not.toHaveProperty('actor');
          await migration.up(runner);
          await attempts.up(runner);
        } finally {
          await runner.release();
        }
        await expectDescribed((table) => postgresShape(dataSource, table));
        await expectOldRowsRead(new PostgresOrderStore(dataSource));
      } finally {
        await dataSource.destroy();
      }
    });

    it('by ensureSchema()', async () => {
      const dataSource = await earlierRelease();
      try {
        const store = new PostgresOrderStore(dataSource);
        await store.ensureSchema();
        await expectDescribed((table) => postgresShape(dataSource, table));
        await expectOldRowsRead(store);
      } finally {
        await dataSource.destroy();
      }
    });
  });

  it('SQLite: by ensureSchema(), once', async () => {
    const dataSource = new DataSource({ type: 'sqljs', logging: false });
    await dataSource.initialize();
    try {
      for (const statement of createStatements(SQLITE_SCHEMA, BEFORE_OPERATIONS)) await dataSource.query(statement);
      for (const [sql, params] of oldRows(at.getTime(), false)) await dataSource.query(sql, params);
      await new SqliteOrderStore(dataSource).ensureSchema();
      // A second start finds nothing left to do.
      const store = new SqliteOrderStore(dataSource);
      await store.ensureSchema();
      await expectDescribed((table) => sqliteShape(dataSource, table));
      await expectOldRowsRead(store);
    } finally {
      await dataSource.destroy();
    }
  });
});
