/**
 * The engine's tables, written once: every SQL store creates them from this description in its own
 * types, and the MySQL migrations are checked against it (test/store-contract.e2e-spec.ts).
 */

/** A column's kind; each dialect spells it in its own types. */
export type ColumnKind =
  /** An id, a name or a state: up to 64 characters, compared byte for byte. */
  | 'key'
  /** A short label (a source, a kind): 16 characters. */
  | 'label'
  /** A string of the length given. */
  | 'string'
  /** A SHA-256 in hex: 64 characters. */
  | 'hash'
  /** Text of any length (a response, a message body). */
  | 'text'
  /** The order's business data: JSON. */
  | 'json'
  /** A version: a whole number, never negative. */
  | 'version'
  /** A time to the millisecond. */
  | 'time'
  /** A row id the database assigns, ascending. */
  | 'serial';

export interface Column {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable?: boolean;
  /** For `string`: its length. */
  readonly length?: number;
  /** A constant default, as SQL. */
  readonly default?: string;
}

export interface Table {
  readonly name: string;
  readonly columns: readonly Column[];
  readonly primaryKey: readonly string[];
  /** Unique keys, by name: the engine tells a duplicate request from a lost race by these names. */
  readonly unique: ReadonlyArray<readonly [name: string, columns: readonly string[]]>;
  readonly indexes: ReadonlyArray<readonly [name: string, columns: readonly string[]]>;
}

const key = (name: string, nullable = false): Column => ({ name, kind: 'key', nullable });
const time = (name: string, nullable = false): Column => ({ name, kind: 'time', nullable });

export const FSM_TABLES: readonly Table[] = [
  {
    name: 'fsm_order',
    columns: [
      key('id'),
      key('biz_code'),
      key('scene_id'),
      key('state'),
      { name: 'version', kind: 'version' },
      { name: 'data', kind: 'json' },
      time('created_at'),
      time('updated_at'),
      time('auto_due_at', true),
      time('flagged_at', true),
      { name: 'flag_reason', kind: 'string', length: 512, nullable: true },
    ],
    primaryKey: ['id'],
    unique: [],
    indexes: [
      ['idx_fsm_order_state_updated', ['state', 'updated_at']],
      ['idx_fsm_order_auto_due', ['auto_due_at']],
    ],
  },
  {
    name: 'fsm_transition',
    columns: [
      { name: 'id', kind: 'serial' },
      key('order_id'),
      { name: 'version', kind: 'version' },
      key('event'),
      key('from_state'),
      key('to_state'),
      key('request_id'),
      { name: 'caller', kind: 'key', default: "''" },
      { name: 'source', kind: 'label' },
      time('created_at'),
      { name: 'request_hash', kind: 'hash', default: "''" },
      { name: 'response', kind: 'text', nullable: true },
    ],
    primaryKey: ['id'],
    unique: [
      ['uq_fsm_transition_order_version', ['order_id', 'version']],
      ['uq_fsm_transition_request', ['request_id', 'caller']],
    ],
    indexes: [],
  },
  {
    name: 'fsm_outbox',
    columns: [
      { name: 'id', kind: 'serial' },
      { name: 'message_id', kind: 'string', length: 160 },
      key('order_id'),
      { name: 'version', kind: 'version' },
      { name: 'kind', kind: 'label' },
      { name: 'routing_key', kind: 'string', length: 255 },
      { name: 'payload', kind: 'text' },
      time('created_at'),
      time('published_at', true),
    ],
    primaryKey: ['id'],
    unique: [['uq_fsm_outbox_message', ['message_id']]],
    indexes: [
      ['idx_fsm_outbox_pending', ['published_at', 'id']],
      ['idx_fsm_outbox_order', ['order_id', 'id']],
    ],
  },
  {
    name: 'fsm_timer',
    columns: [
      { name: 'id', kind: 'serial' },
      key('order_id'),
      { name: 'version', kind: 'version' },
      key('state'),
      key('event'),
      time('fire_at'),
      time('fired_at', true),
      { name: 'outcome', kind: 'key', nullable: true },
      time('created_at'),
    ],
    primaryKey: ['id'],
    unique: [],
    indexes: [
      ['idx_fsm_timer_due', ['fired_at', 'fire_at']],
      ['idx_fsm_timer_order', ['order_id']],
    ],
  },
];

/** How one database spells the schema. */
export interface SchemaDialect {
  /** The column's type and constraints after its name, e.g. `VARCHAR(64) NOT NULL`. */
  columnType(column: Column): string;
  /** Whether a `serial` column declares the primary key itself (SQLite's INTEGER PRIMARY KEY AUTOINCREMENT). */
  readonly serialIsPrimaryKey: boolean;
  /** After the closing parenthesis of CREATE TABLE (MySQL's engine and collation). */
  readonly tableSuffix: string;
}

/** CREATE TABLE and CREATE INDEX statements, each safe to run again. */
export function createStatements(dialect: SchemaDialect, tables: readonly Table[] = FSM_TABLES): string[] {
  const statements: string[] = [];
  for (const table of tables) {
    const serialKey = dialect.serialIsPrimaryKey && table.columns.some((c) => c.kind === 'serial' && table.primaryKey.includes(c.name));
    const lines = table.columns.map((column) => {
      const def = column.default === undefined ? '' : ` DEFAULT ${column.default}`;
      return `${column.name} ${dialect.columnType(column)}${def}`;
    });
    if (!serialKey) lines.push(`CONSTRAINT ${table.name}_pkey PRIMARY KEY (${table.primaryKey.join(', ')})`);
    for (const [name, columns] of table.unique) lines.push(`CONSTRAINT ${name} UNIQUE (${columns.join(', ')})`);
    statements.push(`CREATE TABLE IF NOT EXISTS ${table.name} (\n  ${lines.join(',\n  ')}\n)${dialect.tableSuffix}`);
    for (const [name, columns] of table.indexes) statements.push(`CREATE INDEX IF NOT EXISTS ${name} ON ${table.name} (${columns.join(', ')})`);
  }
  return statements;
}
