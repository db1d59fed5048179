import type { DataSource, EntityManager } from 'typeorm';
import type { FsmOrder } from '../../model/order.js';
import { DuplicateRequestError, VersionConflictError } from '../../errors/order-fsm.errors.js';
import type {
  ClaimedMessage,
  ConsumedRequest,
  DueTimer,
  OrderStore,
  OutboxMessage,
  SaveOutcome,
  StuckOrder,
  TransitionLogEntry,
  TransitionWrite,
} from '../../ports/order-store.js';
import { acknowledgedPrefix } from '../sql/outbox-prefix.js';

/** The schema of the embedded store: the tables of the MySQL migrations, times in epoch milliseconds. */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS fsm_order (
    id TEXT NOT NULL PRIMARY KEY, biz_code TEXT NOT NULL, scene_id TEXT NOT NULL, state TEXT NOT NULL,
    version INTEGER NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    auto_due_at INTEGER NULL, flagged_at INTEGER NULL, flag_reason TEXT NULL)`,
  'CREATE INDEX IF NOT EXISTS idx_fsm_order_auto_due ON fsm_order (auto_due_at)',
  `CREATE TABLE IF NOT EXISTS fsm_transition (
    id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, version INTEGER NOT NULL, event TEXT NOT NULL,
    from_state TEXT NOT NULL, to_state TEXT NOT NULL, request_id TEXT NOT NULL, source TEXT NOT NULL,
    created_at INTEGER NOT NULL, request_hash TEXT NOT NULL, response TEXT NULL, caller TEXT NOT NULL DEFAULT '')`,
  'CREATE UNIQUE INDEX IF NOT EXISTS uq_fsm_transition_order_version ON fsm_transition (order_id, version)',
  `CREATE TABLE IF NOT EXISTS fsm_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL,
    version INTEGER NOT NULL, kind TEXT NOT NULL, routing_key TEXT NOT NULL, payload TEXT NOT NULL,
    created_at INTEGER NOT NULL, published_at INTEGER NULL)`,
  'CREATE INDEX IF NOT EXISTS idx_fsm_outbox_pending ON fsm_outbox (published_at, id)',
  `CREATE TABLE IF NOT EXISTS fsm_timer (
    id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
    event TEXT NOT NULL, fire_at INTEGER NOT NULL, fired_at INTEGER NULL, outcome TEXT NULL, created_at INTEGER NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS idx_fsm_timer_due ON fsm_timer (fired_at, fire_at)',
];

/**
 * A file written before request ids belonged to their caller: the log gains its caller column, the
 * engine's own transitions their namespace, and the request id's unique index its caller.
 */
const UPGRADES: ReadonlyArray<{ applies: (columns: ReadonlySet<string>) => boolean; statements: readonly string[] }> = [
  {
    applies: (columns) => !columns.has('caller'),
    statements: [
      "ALTER TABLE fsm_transition ADD COLUMN caller TEXT NOT NULL DEFAULT ''",
      "UPDATE fsm_transition SET caller = '@system' WHERE source IN ('worker', 'timer', 'sweeper')",
    ],
  },
];
/** Run at every start, after the upgrades: the request id's unique index is the caller's. */
const LAST = [
  'DROP INDEX IF EXISTS uq_fsm_transition_request',
  'CREATE UNIQUE INDEX IF NOT EXISTS uq_fsm_transition_caller_request ON fsm_transition (request_id, caller)',
];

interface OrderRow {
  id: string;
  biz_code: string;
  scene_id: string;
  state: string;
  version: number;
  data: string;
  created_at: number;
  updated_at: number;
  flagged_at: number | null;
  flag_reason: string | null;
}

const ms = (date: Date | null | undefined): number | null => (date ? date.getTime() : null);

function toOrder(row: OrderRow): FsmOrder {
  return {
    orderId: row.id,
    bizCode: row.biz_code,
    sceneId: row.scene_id,
    state: row.state,
    version: Number(row.version),
    data: JSON.parse(row.data),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    ...(row.flagged_at != null && { flag: { at: new Date(row.flagged_at), reason: row.flag_reason ?? '' } }),
  };
}

const toConsumed = (row: { request_hash: string; response: string | null } | undefined): ConsumedRequest | null =>
  row ? { requestHash: row.request_hash, response: row.response ? JSON.parse(row.response) : null } : null;

/**
 * The OrderStore on SQLite through TypeORM (the `sqljs` driver: SQLite compiled to WebAssembly,
 * nothing to install). It is the embedded default of a first run and the store of the testing
 * helper: the same engine, the same transaction per transition (order row fenced by its version,
 * log, outbox, timers and the processor's own save()), on one connection in one process.
 *
 * SQLite has one connection here, so the store runs one unit of work at a time; a processor's
 * save() runs inside it with the transaction's manager. It is not meant for several processes.
 */
export class SqliteOrderStore implements OrderStore {
  private queue: Promise<unknown> = Promise.resolve();
  private schemaReady?: Promise<void>;

  constructor(private readonly dataSource: DataSource) {
    if (!['sqljs', 'better-sqlite3', 'sqlite'].includes(dataSource.options.type)) {
      throw new Error(`SqliteOrderStore speaks SQLite; this DataSource is ${dataSource.options.type}`);
    }
  }

  /** Creates the tables if they are missing (the embedded store has no migrations to run). */
  ensureSchema(): Promise<void> {
    this.schemaReady ??= this.exclusive(async () => {
      // One transaction: a file is never left half upgraded (sql.js writes it after each statement).
      await this.dataSource.transaction(async (manager) => {
        for (const statement of SCHEMA) await manager.query(statement);
        const columns = new Set<string>((await manager.query('PRAGMA table_info(fsm_transition)')).map((c: { name: string }) => c.name));
        for (const upgrade of UPGRADES) if (upgrade.applies(columns)) for (const statement of upgrade.statements) await manager.query(statement);
        for (const statement of LAST) await manager.query(statement);
      });
    });
    return this.schemaReady;
  }

  load(orderId: string): Promise<FsmOrder | null> {
    return this.read(async (m) => {
      const [row] = await m.query('SELECT * FROM fsm_order WHERE id = ?', [orderId]);
      return row ? toOrder(row) : null;
    });
  }

  loadForEvent(orderId: string, requestId: string, caller: string) {
    return this.read(async (m) => {
      const [row] = await m.query('SELECT * FROM fsm_order WHERE id = ?', [orderId]);
      const [request] = await m.query('SELECT request_hash, response FROM fsm_transition WHERE request_id = ? AND caller = ?', [requestId, caller]);
      return { order: row ? toOrder(row) : null, consumed: toConsumed(request) };
    });
  }

  findConsumedRequest(requestId: string, caller: string): Promise<ConsumedRequest | null> {
    return this.read(async (m) =>
      toConsumed((await m.query('SELECT request_hash, response FROM fsm_transition WHERE request_id = ? AND caller = ?', [requestId, caller]))[0]),
    );
  }

  commit(write: TransitionWrite, work: (manager: EntityManager) => Promise<SaveOutcome>): Promise<FsmOrder> {
    const { order, toState, at } = write;
    const version = order.version + 1;
    return this.transaction(async (manager) => {
      const runner = manager.queryRunner!;
      const data = JSON.stringify(order.data ?? {});
      if (order.version === 0) {
        const [existing] = await manager.query('SELECT id FROM fsm_order WHERE id = ?', [order.orderId]);
        if (existing) throw new VersionConflictError(order.orderId, order.version);
        await manager.query(
          'INSERT INTO fsm_order (id, biz_code, scene_id, state, version, data, created_at, updated_at, auto_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [order.orderId, order.bizCode, order.sceneId, toState, version, data, ms(at), ms(at), ms(write.autoDueAt)],
        );
      } else {
        // The fence: the row changes only if nobody moved it since it was read.
        const fenced = await runner.query(
          'UPDATE fsm_order SET state = ?, version = ?, data = ?, updated_at = ?, auto_due_at = ?, flagged_at = NULL, flag_reason = NULL WHERE id = ? AND version = ? AND state = ?',
          [toState, version, data, ms(at), ms(write.autoDueAt), order.orderId, order.version, order.state],
          true,
        );
        if (fenced.affected !== 1) throw new VersionConflictError(order.orderId, order.version);
      }
      const [taken] = await manager.query('SELECT 1 AS taken FROM fsm_transition WHERE request_id = ? AND caller = ?', [write.requestId, write.caller]);
      if (taken) throw new DuplicateRequestError(write.requestId);
      const { response, timers } = await work(manager);
      await manager.query(
        'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, caller, source, created_at, request_hash, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [order.orderId, version, write.event, order.state, toState, write.requestId, write.caller, write.source, ms(at), write.requestHash, response],
      );
      await this.insertOutbox(manager, order.orderId, version, write.messages, at);
      for (const timer of timers) {
        await manager.query('INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
          order.orderId,
          version,
          toState,
          timer.event,
          ms(timer.fireAt),
          ms(at),
        ]);
      }
      if (write.firesTimer !== undefined) {
        await manager.query("UPDATE fsm_timer SET fired_at = ?, outcome = 'fired' WHERE id = ?", [ms(at), write.firesTimer]);
      }
      return { ...order, state: toState, version, createdAt: order.version === 0 ? at : order.createdAt, updatedAt: at };
    });
  }

  listTransitions(orderId: string): Promise<TransitionLogEntry[]> {
    return this.read(async (m) => {
      const rows: Array<Record<string, string | number>> = await m.query(
        'SELECT order_id, version, event, from_state, to_state, request_id, caller, source, created_at FROM fsm_transition WHERE order_id = ? ORDER BY version',
        [orderId],
      );
      return rows.map((row) => ({
        orderId: String(row.order_id),
        version: Number(row.version),
        event: String(row.event),
        fromState: String(row.from_state),
        toState: String(row.to_state),
        requestId: String(row.request_id),
        caller: String(row.caller),
        source: row.source as TransitionLogEntry['source'],
        createdAt: new Date(Number(row.created_at)),
      }));
    });
  }

  relayOutbox(limit: number, publish: (messages: readonly ClaimedMessage[]) => Promise<readonly number[]>): Promise<number> {
    // One relay per process, and the rows are taken oldest first: the order of each order's
    // messages is the order of the ids. Published under the store's turn, so nothing else interleaves.
    return this.transaction(async (manager) => {
      const rows: Array<Record<string, string | number>> = await manager.query(
        'SELECT id, message_id, order_id, kind, routing_key, payload, created_at FROM fsm_outbox WHERE published_at IS NULL ORDER BY id LIMIT ?',
        [limit],
      );
      if (rows.length === 0) return 0;
      const claimed: ClaimedMessage[] = rows.map((row) => ({
        id: Number(row.id),
        messageId: String(row.message_id),
        orderId: String(row.order_id),
        kind: row.kind as ClaimedMessage['kind'],
        routingKey: String(row.routing_key),
        payload: String(row.payload),
        createdAt: new Date(Number(row.created_at)),
      }));
      const now = Date.now();
      for (const id of acknowledgedPrefix(claimed, new Set(await publish(claimed)))) {
        await manager.query('UPDATE fsm_outbox SET published_at = ? WHERE id = ?', [now, id]);
      }
      return rows.length;
    });
  }

  purgePublished(before: Date, limit: number): Promise<number> {
    return this.transaction(async (manager) => {
      const result = await manager.queryRunner!.query(
        'DELETE FROM fsm_outbox WHERE id IN (SELECT id FROM fsm_outbox WHERE published_at < ? LIMIT ?)',
        [ms(before), limit],
        true,
      );
      return result.affected ?? 0;
    });
  }

  outboxBacklog(): Promise<{ count: number; oldestCreatedAt: Date | null }> {
    return this.read(async (m) => {
      const [row] = await m.query('SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM fsm_outbox WHERE published_at IS NULL');
      return { count: Number(row?.count ?? 0), oldestCreatedAt: row?.oldest != null ? new Date(Number(row.oldest)) : null };
    });
  }

  claimDueTimers(now: Date, limit: number, leaseMs: number): Promise<DueTimer[]> {
    return this.transaction(async (m) => {
      const due: Array<Record<string, string | number>> = await m.query(
        'SELECT id, order_id, version, state, event FROM fsm_timer WHERE fired_at IS NULL AND fire_at <= ? ORDER BY fire_at LIMIT ?',
        [ms(now), limit],
      );
      for (const row of due) await m.query('UPDATE fsm_timer SET fire_at = ? WHERE id = ?', [now.getTime() + leaseMs, row.id]);
      return due.map((row) => ({ id: Number(row.id), orderId: String(row.order_id), version: Number(row.version), state: String(row.state), event: String(row.event) }));
    });
  }

  async settleTimer(id: number, result: { outcome: string } | { retryAt: Date }): Promise<void> {
    await this.transaction((m) =>
      'retryAt' in result
        ? m.query('UPDATE fsm_timer SET fire_at = ? WHERE id = ? AND fired_at IS NULL', [ms(result.retryAt), id])
        : m.query('UPDATE fsm_timer SET fired_at = ?, outcome = ? WHERE id = ? AND fired_at IS NULL', [Date.now(), result.outcome.slice(0, 64), id]),
    );
  }

  async requeueStuck(
    now: Date,
    limit: number,
    requeue: (order: StuckOrder) => { messages: readonly OutboxMessage[]; nextDueAt: Date | null },
  ): Promise<number> {
    const stuck: Array<Record<string, string | number>> = await this.read((m) =>
      m.query('SELECT id, state, version, biz_code, scene_id FROM fsm_order WHERE auto_due_at <= ? AND flagged_at IS NULL ORDER BY auto_due_at LIMIT ?', [
        ms(now),
        limit,
      ]),
    );
    let requeued = 0;
    for (const row of stuck) {
      const order = { orderId: String(row.id), state: String(row.state), version: Number(row.version), bizCode: String(row.biz_code), sceneId: String(row.scene_id) };
      const { messages, nextDueAt } = requeue(order);
      await this.transaction(async (manager) => {
        const claimed = await manager.queryRunner!.query(
          'UPDATE fsm_order SET auto_due_at = ? WHERE id = ? AND version = ? AND auto_due_at <= ?',
          [ms(nextDueAt), order.orderId, order.version, ms(now)],
          true,
        );
        if (claimed.affected !== 1) return;
        await this.insertOutbox(manager, order.orderId, order.version, messages, now);
        requeued++;
      });
    }
    return requeued;
  }

  async flagOrder(orderId: string, reason: string, at: Date): Promise<void> {
    await this.transaction((m) => m.query('UPDATE fsm_order SET flagged_at = ?, flag_reason = ? WHERE id = ?', [ms(at), reason.slice(0, 512), orderId]));
  }

  private async insertOutbox(manager: EntityManager, orderId: string, version: number, messages: readonly OutboxMessage[], at: Date) {
    for (const m of messages) {
      // A requeued piece of work has a message id of its own; the same id twice is the same message.
      await manager.query(
        'INSERT INTO fsm_outbox (message_id, order_id, version, kind, routing_key, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING',
        [m.messageId, orderId, version, m.kind, m.routingKey, m.payload, ms(at)],
      );
    }
  }

  private read<R>(work: (manager: EntityManager) => Promise<R>): Promise<R> {
    return this.exclusive(() => work(this.dataSource.manager));
  }

  private transaction<R>(work: (manager: EntityManager) => Promise<R>): Promise<R> {
    return this.exclusive(() => this.dataSource.transaction(work));
  }

  /** One unit of work at a time on SQLite's one connection, in the order they were asked for. */
  private exclusive<R>(work: () => Promise<R>): Promise<R> {
    const turn = this.queue.then(work, work);
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}
