import type { DataSource, EntityManager } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel.js';
import { createStatements, FSM_TABLES, type Column, type SchemaDialect } from '../sql/schema.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import { SqlOrderStore, type SqlSession } from '../sql/sql-order-store.js';

/** SQLite: times in epoch milliseconds, one writer (nothing to skip), ON CONFLICT for duplicate messages. */
export const SQLITE_DIALECT: SqlDialect = {
  name: 'sqlite',
  placeholders: (sql) => sql,
  time: (value) => value.getTime(),
  readTime: (value) => new Date(Number(value)),
  skipLocked: '',
  ignoreDuplicateMessage: ' ON CONFLICT (message_id) DO NOTHING',
  purgePublished: (before, limit) => ['DELETE FROM fsm_outbox WHERE id IN (SELECT id FROM fsm_outbox WHERE published_at < ? ORDER BY id LIMIT ?)', [before, limit]],
};

const SQLITE_TYPES: Record<Column['kind'], string> = {
  key: 'TEXT',
  label: 'TEXT',
  string: 'TEXT',
  hash: 'TEXT',
  text: 'TEXT',
  json: 'TEXT',
  version: 'INTEGER',
  time: 'INTEGER',
  serial: 'INTEGER PRIMARY KEY AUTOINCREMENT',
};

export const SQLITE_SCHEMA: SchemaDialect = {
  columnType: (column) => (column.kind === 'serial' ? SQLITE_TYPES.serial : `${SQLITE_TYPES[column.kind]} ${column.nullable ? 'NULL' : 'NOT NULL'}`),
  serialIsPrimaryKey: true,
  tableSuffix: '',
  addColumnIfNotExists: false,
};

/**
 * A file written by an earlier release, once the columns it lacks were added (from the description,
 * by createStatements): the engine's own transitions move to their namespace, and the request id's
 * unique index gains its caller. `applies` is asked of the log's columns as the file had them.
 */
const UPGRADES: ReadonlyArray<{ applies: (columns: ReadonlySet<string>) => boolean; statements: readonly string[] }> = [
  {
    applies: (columns) => !columns.has('caller'),
    statements: [
      "UPDATE fsm_transition SET caller = '@system' WHERE source IN ('worker', 'timer', 'sweeper')",
      'DROP INDEX IF EXISTS uq_fsm_transition_request',
      'CREATE UNIQUE INDEX IF NOT EXISTS uq_fsm_transition_caller_request ON fsm_transition (request_id, caller)',
    ],
  },
];

/**
 * The OrderStore on SQLite through TypeORM (the `sqljs` driver: SQLite compiled to WebAssembly,
 * nothing to install): the store kit's protocol in SQLite's dialect. It is the embedded default of a
 * first run and the store of the testing helper: the same engine, the same transaction per
 * transition (order row fenced by its version, log, outbox, timers and the processor's own save()),
 * on one connection in one process.
 *
 * SQLite has one connection here, so the store runs one unit of work at a time, in the order they
 * were asked for; a processor's save() runs inside it with the transaction's manager. It is not
 * meant for several processes.
 */
export class SqliteOrderStore extends SqlOrderStore {
  private queue: Promise<unknown> = Promise.resolve();
  private schemaReady?: Promise<void>;

  constructor(dataSource: DataSource) {
    if (!['sqljs', 'better-sqlite3', 'sqlite'].includes(dataSource.options.type)) {
      throw new Error(`SqliteOrderStore speaks SQLite; this DataSource is ${dataSource.options.type}`);
    }
    super(dataSource, SQLITE_DIALECT);
  }

  /** Creates the tables if they are missing and upgrades a file of an earlier release, in one transaction. */
  ensureSchema(): Promise<void> {
    // One transaction: a file is never left half upgraded (sql.js writes it after each statement).
    this.schemaReady ??= this.transaction(undefined, async (session) => {
      const existing = new Map<string, ReadonlySet<string>>();
      for (const table of FSM_TABLES) {
        existing.set(table.name, new Set((await session.rows<{ name: string }>(`PRAGMA table_info(${table.name})`, [])).map((c) => c.name)));
      }
      for (const statement of createStatements(SQLITE_SCHEMA, FSM_TABLES, existing)) await session.changes(statement, []);
      const log = existing.get('fsm_transition')!;
      if (log.size > 0) {
        for (const upgrade of UPGRADES) if (upgrade.applies(log)) for (const statement of upgrade.statements) await session.changes(statement, []);
      }
    }).catch((error) => {
      this.schemaReady = undefined;
      throw error;
    });
    return this.schemaReady;
  }

  protected override read<R>(sql: string, params: readonly unknown[]): Promise<R[]> {
    return this.exclusive(() => super.read<R>(sql, params));
  }

  protected override transaction<R>(isolation: IsolationLevel | undefined, work: (session: SqlSession, manager: EntityManager) => Promise<R>): Promise<R> {
    return this.exclusive(() => super.transaction(isolation, work));
  }

  /** One unit of work at a time on SQLite's one connection, in the order they were asked for. */
  private exclusive<R>(work: () => Promise<R>): Promise<R> {
    const turn = this.queue.then(work, work);
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}
