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
  /** A version or a count: a whole number, never negative. */
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
      // Paused by an operator: every event is refused until it is resumed.
      time('paused_at', true),
      { name: 'pause_reason', kind: 'string', length: 512, nullable: true },
      // The version of the machine whose rules the order follows: the one it was created under, until it is migrated.
      { name: 'machine_version', kind: 'version', default: '1' },
      // How many late events were recorded for the order: only then do its loads look in fsm_late_event.
      { name: 'late_events', kind: 'version', default: '0' },
    ],
    primaryKey: ['id'],
    unique: [],
    indexes: [
      ['idx_fsm_order_state_updated', ['state', 'updated_at']],
      ['idx_fsm_order_auto_due', ['auto_due_at']],
      // The operator's list, newest first, keyset-paginated on (updated_at, id): all orders, or one bizCode@sceneId.
      ['idx_fsm_order_updated', ['updated_at', 'id']],
      ['idx_fsm_order_dims_updated', ['biz_code', 'scene_id', 'updated_at', 'id']],
      // The fleet's counts per state and bizCode@sceneId, read from the index alone.
      ['idx_fsm_order_state_dims', ['state', 'biz_code', 'scene_id']],
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
      // Who acted (an operator's name, the caller's, or `@system`) and, for an operator's act, why.
      { name: 'actor', kind: 'key', default: "''" },
      { name: 'reason', kind: 'string', length: 512, nullable: true },
      // The machine version the transition was decided under, the event's payload (JSON) and the
      // processor that decided it: what a shadow replay sends again and compares against.
      { name: 'machine_version', kind: 'version', default: '1' },
      { name: 'payload', kind: 'text', nullable: true },
      key('processor', true),
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
      // The trace of the transaction that wrote the row (JSON headers: traceparent, tracestate), when it was traced.
      { name: 'trace_context', kind: 'text', nullable: true },
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
  {
    // The audit of operators' acts: force, pause, resume, event, redrive, discard; one row per order acted on.
    name: 'fsm_operator_action',
    columns: [
      { name: 'id', kind: 'serial' },
      key('order_id'),
      { name: 'kind', kind: 'label' },
      key('actor'),
      { name: 'reason', kind: 'string', length: 512 },
      { name: 'detail', kind: 'text', nullable: true },
      time('created_at'),
    ],
    primaryKey: ['id'],
    unique: [],
    indexes: [['idx_fsm_operator_action_order', ['order_id', 'id']]],
  },
  {
    // Automatic work that used up its attempts (or was refused): what operators redrive or discard.
    name: 'fsm_dead_letter',
    columns: [
      { name: 'id', kind: 'serial' },
      { name: 'message_id', kind: 'string', length: 160 },
      key('order_id'),
      { name: 'version', kind: 'version' },
      key('state'),
      key('event'),
      { name: 'reason', kind: 'string', length: 512 },
      { name: 'attempts', kind: 'version' },
      time('created_at'),
      // dead (waiting for a person), redriven or discarded.
      { name: 'status', kind: 'label' },
      time('settled_at', true),
      key('settled_by', true),
      { name: 'settle_reason', kind: 'string', length: 512, nullable: true },
      { name: 'outcome', kind: 'string', length: 512, nullable: true },
    ],
    primaryKey: ['id'],
    unique: [['uq_fsm_dead_letter_message', ['message_id']]],
    indexes: [
      ['idx_fsm_dead_letter_status', ['status', 'id']],
      ['idx_fsm_dead_letter_order', ['order_id', 'id']],
    ],
  },
  {
    // Each attempt of automatic work that did not end in a transition (a retry, a wait, a dead
    // letter, an order that moved on or was paused): the attempts an operator sees in the timeline.
    // An attempt that applied is the transition row its worker wrote.
    name: 'fsm_work_attempt',
    columns: [
      { name: 'id', kind: 'serial' },
      key('order_id'),
      { name: 'version', kind: 'version' },
      key('state'),
      key('event'),
      { name: 'attempt', kind: 'version' },
      // retry, wait, dead-lettered, moved-on, held.
      { name: 'outcome', kind: 'label' },
      key('error_code'),
      { name: 'message', kind: 'string', length: 512 },
      time('retry_at', true),
      time('created_at'),
    ],
    primaryKey: ['id'],
    unique: [],
    indexes: [['idx_fsm_work_attempt_order', ['order_id', 'id']]],
  },
  {
    // An event that arrived in a state with no transition for it, and what its machine's late-event
    // policy made of it: ignored, held (until a state takes it, or its deadline), compensated. Its
    // request id is consumed here as a transition's is in fsm_transition: a retry is answered again.
    name: 'fsm_late_event',
    columns: [
      { name: 'id', kind: 'serial' },
      key('order_id'),
      // The order's version and state when the event arrived.
      { name: 'version', kind: 'version' },
      key('state'),
      key('event'),
      key('request_id'),
      key('caller'),
      // The caller's role, for a held event sent again on its release.
      { name: 'caller_role', kind: 'key', default: "''" },
      { name: 'source', kind: 'label' },
      { name: 'request_hash', kind: 'hash' },
      { name: 'payload', kind: 'text', nullable: true },
      // ignore, hold or compensate.
      { name: 'policy', kind: 'label' },
      // ignored, compensated, held, released, expired, refused (a held one ends compensated when it expires where its policy says so).
      { name: 'status', kind: 'label' },
      // The answer a retry of the request gets.
      { name: 'response', kind: 'text' },
      // A held event: when it expires, and when a poller looks at it next (a lease while one does).
      time('deadline', true),
      time('next_check_at', true),
      time('settled_at', true),
      { name: 'outcome', kind: 'string', length: 512, nullable: true },
      time('created_at'),
    ],
    primaryKey: ['id'],
    unique: [['uq_fsm_late_event_request', ['request_id', 'caller']]],
    indexes: [
      ['idx_fsm_late_event_order', ['order_id', 'status']],
      ['idx_fsm_late_event_due', ['status', 'next_check_at']],
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
  /** Whether the database has `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` (PostgreSQL does, SQLite does not). */
  readonly addColumnIfNotExists: boolean;
}

/**
 * What an existing database already has, for bringing tables an earlier release created up to the
 * description: each table's columns, as read from the database (SQLite), or `'ask'` to let the
 * database skip the columns it has (`ADD COLUMN IF NOT EXISTS`, PostgreSQL).
 */
export type ExistingColumns = ReadonlyMap<string, ReadonlySet<string>> | 'ask';

const columnDefinition = (dialect: SchemaDialect, column: Column): string =>
  `${column.name} ${dialect.columnType(column)}${column.default === undefined ? '' : ` DEFAULT ${column.default}`}`;

/**
 * CREATE TABLE and CREATE INDEX statements, each safe to run again. With `existing`, tables that an
 * earlier release created gain the columns added since (between the tables and the indexes, which
 * may name them); a column added later is nullable or has a default, so existing rows stay valid.
 */
export function createStatements(dialect: SchemaDialect, tables: readonly Table[] = FSM_TABLES, existing?: ExistingColumns): string[] {
  const statements: string[] = [];
  const indexes: string[] = [];
  for (const table of tables) {
    const serialKey = dialect.serialIsPrimaryKey && table.columns.some((c) => c.kind === 'serial' && table.primaryKey.includes(c.name));
    const lines = table.columns.map((column) => columnDefinition(dialect, column));
    if (!serialKey) lines.push(`CONSTRAINT ${table.name}_pkey PRIMARY KEY (${table.primaryKey.join(', ')})`);
    for (const [name, columns] of table.unique) lines.push(`CONSTRAINT ${name} UNIQUE (${columns.join(', ')})`);
    statements.push(`CREATE TABLE IF NOT EXISTS ${table.name} (\n  ${lines.join(',\n  ')}\n)${dialect.tableSuffix}`);
    for (const [name, columns] of table.indexes) indexes.push(`CREATE INDEX IF NOT EXISTS ${name} ON ${table.name} (${columns.join(', ')})`);
  }
  if (existing) statements.push(...addColumnStatements(dialect, tables, existing));
  return [...statements, ...indexes];
}

function addColumnStatements(dialect: SchemaDialect, tables: readonly Table[], existing: ExistingColumns): string[] {
  const statements: string[] = [];
  for (const table of tables) {
    const has = existing === 'ask' ? undefined : existing.get(table.name);
    // A table created just now (or not there before) has every column already.
    if (existing !== 'ask' && (!has || has.size === 0)) continue;
    for (const column of table.columns) {
      if (column.kind === 'serial' || has?.has(column.name)) continue;
      const ifNotExists = existing === 'ask' && dialect.addColumnIfNotExists ? 'IF NOT EXISTS ' : '';
      statements.push(`ALTER TABLE ${table.name} ADD COLUMN ${ifNotExists}${columnDefinition(dialect, column)}`);
    }
  }
  return statements;
}
