import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { VersionConflictError } from '../../errors/order-fsm.errors.js';
import type { FsmOrder } from '../../model/order.js';
import { translateDbError } from '../../errors/db-errors.js';
import { acknowledgedPrefix, gapFreePrefix } from '../sql/outbox-prefix.js';
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

interface OrderRow {
  id: string | null;
  biz_code: string;
  scene_id: string;
  state: string;
  version: number;
  data: string | Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  flagged_at: Date | null;
  flag_reason: string | null;
}

interface RequestRow {
  request_hash: string | null;
  response: string | null;
}

interface TransitionRow {
  order_id: string;
  version: number;
  event: string;
  from_state: string;
  to_state: string;
  request_id: string;
  caller: string;
  source: string;
  created_at: Date;
}

const parseData = (data: OrderRow['data']): Record<string, unknown> =>
  data == null ? {} : typeof data === 'string' ? JSON.parse(data) : data;

const ORDER_COLUMNS =
  'o.id, o.biz_code, o.scene_id, o.state, o.version, o.data, o.created_at, o.updated_at, o.flagged_at, o.flag_reason';
const SELECT_ORDER = `SELECT ${ORDER_COLUMNS} FROM fsm_order o WHERE o.id = ?`;
// One round trip for both: the order, and the transition that already consumed this request id, if
// any. Two constant lookups; MariaDB answers it without a derived table.
const SELECT_ORDER_AND_REQUEST = `SELECT ${ORDER_COLUMNS}, t.request_hash, t.response
  FROM fsm_order o LEFT JOIN fsm_transition t ON t.request_id = ? AND t.caller = ? WHERE o.id = ?`;
const SELECT_REQUEST = 'SELECT request_hash, response FROM fsm_transition WHERE request_id = ? AND caller = ?';
const INSERT_ORDER =
  'INSERT INTO fsm_order (id, biz_code, scene_id, state, version, data, created_at, updated_at, auto_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
// The fence: the row changes only if nobody moved it since it was read.
const UPDATE_ORDER =
  'UPDATE fsm_order SET state = ?, version = ?, data = ?, updated_at = ?, auto_due_at = ?, flagged_at = NULL, flag_reason = NULL WHERE id = ? AND version = ? AND state = ?';
const INSERT_TRANSITION =
  'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, caller, source, created_at, request_hash, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
// The same row, sent right after the fence in one batch: ROW_COUNT() is what the fence wrote, and a
// single-row INSERT of NULL into the NOT NULL order_id is an error in every SQL mode.
const INSERT_TRANSITION_AFTER_FENCE = INSERT_TRANSITION.replace('VALUES (?,', 'VALUES (IF(ROW_COUNT() = 1, ?, NULL),');
const INSERT_OUTBOX = 'INSERT INTO fsm_outbox (message_id, order_id, version, kind, routing_key, payload, created_at) VALUES ?';
const INSERT_TIMERS = 'INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES ?';
const MARK_TIMER_FIRED = "UPDATE fsm_timer SET fired_at = ?, outcome = 'fired' WHERE id = ?";
const SELECT_TRANSITIONS =
  'SELECT order_id, version, event, from_state, to_state, request_id, caller, source, created_at FROM fsm_transition WHERE order_id = ? ORDER BY version';

function toOrder(row: OrderRow): FsmOrder {
  return {
    orderId: row.id!,
    bizCode: row.biz_code,
    sceneId: row.scene_id,
    state: row.state,
    version: Number(row.version),
    data: parseData(row.data),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.flagged_at && { flag: { at: row.flagged_at, reason: row.flag_reason ?? '' } }),
  };
}

function toConsumed(row: RequestRow | undefined): ConsumedRequest | null {
  if (!row?.request_hash) return null;
  return { requestHash: row.request_hash, response: row.response ? JSON.parse(row.response) : null };
}

/** mysql2's callback API, on a pool or on the connection a query runner holds. */
interface CallbackConnection {
  query(sql: string, values: unknown[], callback: (error: Error | null, result: never) => void): void;
}

/**
 * The engine's own statements go to mysql2 directly, on the connection TypeORM holds for the
 * transaction: TypeORM's per-statement logging, events and result wrapping, and the promise
 * wrapper's stack capture, cost more CPU than the statement itself on the hot path (see
 * docs/BENCHMARKS.md). Statements keep their placeholders; mysql2 escapes the values.
 */
function run<R = { affectedRows: number }>(connection: CallbackConnection, sql: string, params: unknown[]): Promise<R> {
  return new Promise((resolve, reject) => connection.query(sql, params, (error, result) => (error ? reject(error) : resolve(result))));
}

type Statement = [sql: string, params: unknown[]];

/** The log row (with the response), the outbox messages and the timers of a transition. */
function writesOf(write: TransitionWrite, version: number, { response, timers }: SaveOutcome, insertTransition: string): Statement[] {
  const { order, toState, at } = write;
  const writes: Statement[] = [
    [insertTransition, [order.orderId, version, write.event, order.state, toState, write.requestId, write.caller, write.source, at, write.requestHash, response]],
  ];
  if (write.messages.length > 0) {
    writes.push([INSERT_OUTBOX, [write.messages.map((m) => [m.messageId, order.orderId, version, m.kind, m.routingKey, m.payload, at])]]);
  }
  if (timers.length > 0) writes.push([INSERT_TIMERS, [timers.map((t) => [order.orderId, version, toState, t.event, t.fireAt, at])]]);
  if (write.firesTimer !== undefined) writes.push([MARK_TIMER_FIRED, [at, write.firesTimer]]);
  return writes;
}

function committedOrder({ order, toState, at }: TransitionWrite, version: number): FsmOrder {
  return { ...order, state: toState, version, createdAt: order.version === 0 ? at : order.createdAt, updatedAt: at };
}

const transactionDepthOf = (runner: QueryRunner): number => (runner as unknown as { transactionDepth: number }).transactionDepth;

function connectionOf(runner: QueryRunner): CallbackConnection {
  return (runner as unknown as { databaseConnection: CallbackConnection }).databaseConnection;
}

const MYSQL_TYPES: readonly string[] = ['mysql', 'mariadb'];

/**
 * The OrderStore on a TypeORM DataSource: MariaDB 10.6+ or MySQL 8 (for FOR UPDATE SKIP LOCKED),
 * over the tables of the OrderFsmSchema and OrderFsmReliability migrations.
 */
export class TypeOrmOrderStore implements OrderStore {
  constructor(private readonly dataSource: DataSource) {
    if (!MYSQL_TYPES.includes(dataSource.options.type)) {
      throw new Error(`TypeOrmOrderStore speaks MySQL and MariaDB (mysql2); this DataSource is ${dataSource.options.type}`);
    }
  }

  async load(orderId: string): Promise<FsmOrder | null> {
    const rows = await this.query<OrderRow>(SELECT_ORDER, [orderId]);
    return rows[0] ? toOrder(rows[0]) : null;
  }

  async loadForEvent(orderId: string, requestId: string, caller: string) {
    const [row] = await this.query<OrderRow & RequestRow>(SELECT_ORDER_AND_REQUEST, [requestId, caller, orderId]);
    if (row) return { order: toOrder(row), consumed: toConsumed(row) };
    // No such order: the request id may still be taken (by another order), which is the answer to give.
    return { order: null, consumed: await this.findConsumedRequest(requestId, caller) };
  }

  async findConsumedRequest(requestId: string, caller: string): Promise<ConsumedRequest | null> {
    const [row] = await this.query<RequestRow>(SELECT_REQUEST, [requestId, caller]);
    return toConsumed(row);
  }

  async commit(write: TransitionWrite, work: (manager: EntityManager) => Promise<SaveOutcome>): Promise<FsmOrder> {
    const { order, toState, at } = write;
    const version = order.version + 1;
    const merge = this.mergesStatements();
    const runner = this.dataSource.createQueryRunner('master');
    try {
      const data = JSON.stringify(order.data ?? {});
      const fence: Statement =
        order.version === 0
          ? [INSERT_ORDER, [order.orderId, order.bizCode, order.sceneId, toState, version, data, at, at, write.autoDueAt]]
          : [UPDATE_ORDER, [toState, version, data, at, write.autoDueAt, order.orderId, order.version, order.state]];
      if (merge && write.workWrites === false) {
        // work() sends nothing (save() is the base class's): the whole transaction is one round trip.
        // The log row's order id is NULL unless the fence has just written exactly one row, so a lost
        // fence fails the batch (ER_BAD_NULL_ERROR) before COMMIT, and the catch below rolls it back.
        const writes = writesOf(write, version, await work(runner.manager), INSERT_TRANSITION_AFTER_FENCE);
        const connection = (await runner.connect()) as CallbackConnection;
        Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
        const batch = [['START TRANSACTION', []], fence, ...writes, ['COMMIT', []]] as Statement[];
        await run(connection, batch.map(([sql]) => sql).join('; '), batch.flatMap(([, params]) => params));
        Object.assign(runner, { isTransactionActive: false, transactionDepth: 0 });
        return committedOrder(write, version);
      }
      let connection: CallbackConnection;
      let fenced: { affectedRows: number };
      if (merge) {
        connection = (await runner.connect()) as CallbackConnection;
        // Marked first: if the batch fails after START TRANSACTION, the catch below must roll it back.
        Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
        [, fenced] = await run<Array<{ affectedRows: number }>>(connection, `START TRANSACTION; ${fence[0]}`, fence[1]);
      } else {
        connection = await this.begin(runner);
        fenced = await run(connection, ...fence);
      }
      if (order.version !== 0 && fenced.affectedRows !== 1) throw new VersionConflictError(order.orderId, order.version);
      const writes = writesOf(write, version, await work(runner.manager), INSERT_TRANSITION);
      if (merge && transactionDepthOf(runner) === 1) {
        // One round trip for the log, the outbox, the timers and COMMIT: the server stops at the first
        // failing statement, so COMMIT runs only if every write went in.
        await run(connection, [...writes.map(([sql]) => sql), 'COMMIT'].join('; '), writes.flatMap(([, params]) => params));
        Object.assign(runner, { isTransactionActive: false, transactionDepth: 0 });
      } else {
        for (const [sql, params] of writes) await run(connection, sql, params);
        await this.end(runner, connection);
      }
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw translateDbError(error, write);
    } finally {
      await runner.release();
    }
    return committedOrder(write, version);
  }

  async listTransitions(orderId: string): Promise<TransitionLogEntry[]> {
    const rows = await this.query<TransitionRow>(SELECT_TRANSITIONS, [orderId]);
    return rows.map((row) => ({
      orderId: row.order_id,
      version: Number(row.version),
      event: row.event,
      fromState: row.from_state,
      toState: row.to_state,
      requestId: row.request_id,
      caller: row.caller,
      source: row.source,
      createdAt: row.created_at,
    }));
  }

  async relayOutbox(limit: number, publish: (messages: readonly ClaimedMessage[]) => Promise<readonly number[]>): Promise<number> {
    return this.inTransaction(async (manager) => {
      // READ COMMITTED: record locks only, so claiming never blocks transitions inserting new rows.
      const claimed: Array<{ id: string; message_id: string; order_id: string; kind: 'status' | 'work'; routing_key: string; payload: string; created_at: Date }> =
        await manager.query(
          'SELECT id, message_id, order_id, kind, routing_key, payload, created_at FROM fsm_outbox WHERE published_at IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED',
          [limit],
        );
      if (claimed.length === 0) return 0;
      // Per order, only the claimed rows that start at its oldest unpublished one, with no gap: a row
      // another relay holds (or that it published but has not marked yet) keeps the later ones back.
      const pending: Array<{ order_id: string; id: string }> = await manager.query(
        'SELECT order_id, id FROM fsm_outbox WHERE published_at IS NULL AND order_id IN (?) ORDER BY id',
        [[...new Set(claimed.map((r) => r.order_id))]],
      );
      const eligible = gapFreePrefix(
        claimed.map((row) => ({
          id: Number(row.id),
          messageId: row.message_id,
          orderId: row.order_id,
          kind: row.kind,
          routingKey: row.routing_key,
          payload: row.payload,
          createdAt: row.created_at,
        })),
        pending.map((p) => ({ orderId: p.order_id, id: Number(p.id) })),
      );
      if (eligible.length === 0) return claimed.length;
      const published = acknowledgedPrefix(eligible, new Set(await publish(eligible)));
      if (published.length > 0) await manager.query('UPDATE fsm_outbox SET published_at = ? WHERE id IN (?)', [new Date(), published]);
      return claimed.length;
    });
  }

  async purgePublished(before: Date, limit: number): Promise<number> {
    const result = await this.inTransaction((manager) =>
      manager.queryRunner!.query('DELETE FROM fsm_outbox WHERE published_at < ? LIMIT ?', [before, limit], true),
    );
    return result.affected ?? 0;
  }

  async outboxBacklog(): Promise<{ count: number; oldestCreatedAt: Date | null }> {
    const [row] = await this.query<{ count: number; oldest: Date | null }>(
      'SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM fsm_outbox WHERE published_at IS NULL',
      [],
    );
    return { count: Number(row?.count ?? 0), oldestCreatedAt: row?.oldest ?? null };
  }

  async claimDueTimers(now: Date, limit: number, leaseMs: number): Promise<DueTimer[]> {
    return this.inTransaction(async (manager) => {
      const due: Array<{ id: string; order_id: string; version: number; state: string; event: string }> = await manager.query(
        'SELECT id, order_id, version, state, event FROM fsm_timer WHERE fired_at IS NULL AND fire_at <= ? ORDER BY fire_at LIMIT ? FOR UPDATE SKIP LOCKED',
        [now, limit],
      );
      if (due.length === 0) return [];
      await manager.query('UPDATE fsm_timer SET fire_at = ? WHERE id IN (?)', [new Date(now.getTime() + leaseMs), due.map((row) => row.id)]);
      return due.map((row) => ({ id: Number(row.id), orderId: row.order_id, version: Number(row.version), state: row.state, event: row.event }));
    });
  }

  async settleTimer(id: number, result: { outcome: string } | { retryAt: Date }): Promise<void> {
    if ('retryAt' in result) await this.query('UPDATE fsm_timer SET fire_at = ? WHERE id = ? AND fired_at IS NULL', [result.retryAt, id]);
    else await this.query('UPDATE fsm_timer SET fired_at = ?, outcome = ? WHERE id = ? AND fired_at IS NULL', [new Date(), result.outcome.slice(0, 64), id]);
  }

  async requeueStuck(
    now: Date,
    limit: number,
    requeue: (order: StuckOrder) => { messages: readonly OutboxMessage[]; nextDueAt: Date | null },
  ): Promise<number> {
    const stuck = await this.query<{ id: string; state: string; version: number; biz_code: string; scene_id: string }>(
      // A flagged order's work was dead-lettered: a person looks at it; it is not requeued forever.
      'SELECT id, state, version, biz_code, scene_id FROM fsm_order WHERE auto_due_at <= ? AND flagged_at IS NULL ORDER BY auto_due_at LIMIT ?',
      [now, limit],
    );
    let requeued = 0;
    for (const row of stuck) {
      const order = { orderId: row.id, state: row.state, version: Number(row.version), bizCode: row.biz_code, sceneId: row.scene_id };
      const { messages, nextDueAt } = requeue(order);
      await this.inTransaction(async (manager) => {
        const claimed = await manager.queryRunner!.query(
          'UPDATE fsm_order SET auto_due_at = ? WHERE id = ? AND version = ? AND auto_due_at <= ?',
          [nextDueAt, order.orderId, order.version, now],
          true,
        );
        if (claimed.affected !== 1) return; // it moved on, or another sweeper took it
        await this.insertOutbox(manager, order.orderId, order.version, messages, now);
        requeued++;
      });
    }
    return requeued;
  }

  async flagOrder(orderId: string, reason: string, at: Date): Promise<void> {
    await this.query('UPDATE fsm_order SET flagged_at = ?, flag_reason = ? WHERE id = ?', [at, reason.slice(0, 512), orderId]);
  }

  private async insertOutbox(manager: EntityManager, orderId: string, version: number, messages: readonly OutboxMessage[], at: Date) {
    if (messages.length === 0) return;
    await manager.query(INSERT_OUTBOX, [messages.map((m) => [m.messageId, orderId, version, m.kind, m.routingKey, m.payload, at])]);
  }

  /**
   * Opens the transaction so that TypeORM knows of it: save() may nest manager.transaction() (a
   * savepoint). With no subscriber to tell and no isolation level to set, START TRANSACTION goes
   * straight to the connection and the runner is marked as TypeORM's startTransaction() marks it.
   */
  private async begin(runner: QueryRunner): Promise<CallbackConnection> {
    if (this.quietTransactions()) {
      const connection = (await runner.connect()) as CallbackConnection;
      await run(connection, 'START TRANSACTION', []);
      Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
      return connection;
    }
    await runner.startTransaction();
    return connectionOf(runner);
  }

  private async end(runner: QueryRunner, connection: CallbackConnection): Promise<void> {
    if (this.quietTransactions() && transactionDepthOf(runner) === 1) {
      await run(connection, 'COMMIT', []);
      Object.assign(runner, { isTransactionActive: false, transactionDepth: 0 });
      return;
    }
    await runner.commitTransaction();
  }

  private quietTransactions(): boolean {
    return this.dataSource.subscribers.length === 0 && !this.dataSource.options.isolationLevel;
  }

  /**
   * With `multipleStatements: true` on the DataSource, commit() takes one round trip to the database
   * when the processor has no save() of its own (the whole transaction in one batch), and two when it
   * has: `START TRANSACTION` with the fenced UPDATE, save()'s statements, then the log, the outbox,
   * the timers and `COMMIT` together. Same statements, same transaction, same guarantees; the store
   * sends only statements with placeholders. Off by default: the option applies to every query of
   * the DataSource, so it is the application's call.
   */
  private mergesStatements(): boolean {
    const options = this.dataSource.options as { multipleStatements?: boolean; extra?: { multipleStatements?: boolean } };
    return this.quietTransactions() && (options.multipleStatements === true || options.extra?.multipleStatements === true);
  }

  private async query<R>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      // The pool itself when there is one (no replication): one statement, no query runner around it.
      const pool = (this.dataSource.driver as unknown as { pool?: CallbackConnection }).pool;
      return pool ? await run(pool, sql, params) : await this.dataSource.query(sql, params);
    } catch (error) {
      throw translateDbError(error);
    }
  }

  private async inTransaction<R>(work: (manager: EntityManager) => Promise<R>): Promise<R> {
    try {
      return await this.dataSource.transaction('READ COMMITTED', work);
    } catch (error) {
      throw translateDbError(error);
    }
  }
}
