import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel.js';
import { translateDbError } from '../../errors/db-errors.js';
import { VersionConflictError } from '../../errors/order-fsm.errors.js';
import type { OutboxMessage } from '../../model/messages.js';
import type { FsmOrder } from '../../model/order.js';
import type {
  ClaimedMessage,
  CommittedTransition,
  ConsumedRequest,
  DueTimer,
  OrderStore,
  SaveOutcome,
  StuckOrder,
  TransitionLogEntry,
  TransitionWrite,
} from '../../ports/order-store.js';
import { acknowledgedPrefix, gapFreePrefix } from './outbox-prefix.js';
import type { SqlDialect, Statement } from './sql-dialect.js';

// The statements, once for every database: `?` for values (the dialect numbers them where it must),
// lists expanded to one placeholder per value.
const ORDER_COLUMNS = 'o.id, o.biz_code, o.scene_id, o.state, o.version, o.data, o.created_at, o.updated_at, o.flagged_at, o.flag_reason';
const SELECT_ORDER = `SELECT ${ORDER_COLUMNS} FROM fsm_order o WHERE o.id = ?`;
// One round trip for both: the order, and the transition that already consumed this request id, if any.
const SELECT_ORDER_AND_REQUEST = `SELECT ${ORDER_COLUMNS}, t.request_hash, t.response
  FROM fsm_order o LEFT JOIN fsm_transition t ON t.request_id = ? AND t.caller = ? WHERE o.id = ?`;
const SELECT_REQUEST = 'SELECT request_hash, response FROM fsm_transition WHERE request_id = ? AND caller = ?';
export const INSERT_ORDER =
  'INSERT INTO fsm_order (id, biz_code, scene_id, state, version, data, created_at, updated_at, auto_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
// The fence: the row changes only if nobody moved it since it was read. A writer that waited on the
// row's lock re-checks the WHERE against the row as committed, so it loses.
export const UPDATE_ORDER =
  'UPDATE fsm_order SET state = ?, version = ?, data = ?, updated_at = ?, auto_due_at = ?, flagged_at = NULL, flag_reason = NULL WHERE id = ? AND version = ? AND state = ?';
export const INSERT_TRANSITION =
  'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, caller, source, created_at, request_hash, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const OUTBOX_HEAD = 'INSERT INTO fsm_outbox (message_id, order_id, version, kind, routing_key, payload, created_at)';
const TIMER_HEAD = 'INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at)';
const MARK_TIMER_FIRED = "UPDATE fsm_timer SET fired_at = ?, outcome = 'fired' WHERE id = ?";
const SELECT_TRANSITIONS =
  'SELECT order_id, version, event, from_state, to_state, request_id, caller, source, created_at FROM fsm_transition WHERE order_id = ? ORDER BY version';

interface OrderRow {
  id: string;
  biz_code: string;
  scene_id: string;
  state: string;
  version: number | string;
  data: string | Record<string, unknown> | null;
  created_at: unknown;
  updated_at: unknown;
  flagged_at: unknown;
  flag_reason: string | null;
}

interface RequestRow {
  request_hash: string | null;
  response: string | null;
}

/** `(?, ?, ?)` once per row. */
const valuesOf = (rows: number, columns: number): string => {
  const group = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
  return Array.from({ length: rows }, () => group).join(', ');
};
const listOf = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

const NO_OUTCOME: SaveOutcome = Object.freeze({ response: 'null', timers: Object.freeze([]) });

/** A transaction, or the data source outside one: statements and what they answer. */
export interface SqlSession {
  rows<R>(sql: string, params: readonly unknown[]): Promise<R[]>;
  /** Runs a statement that writes; answers how many rows it changed. */
  changes(sql: string, params: readonly unknown[]): Promise<number>;
}

/**
 * The store kit: the engine's storage protocol written once over SQL, for every database the
 * engine runs on. An adapter gives it a DataSource and a SqlDialect (placeholders, times,
 * skip-locked claims, the purge, duplicate messages) and may take a faster road where its driver
 * has one (MySQL sends a whole transition in one batch); none changes what is written or when.
 *
 * It talks to TypeORM through its public API only: createQueryRunner, startTransaction, query,
 * commitTransaction, rollbackTransaction, release. A processor's save() gets the transaction's
 * EntityManager (repositories, nested transactions as savepoints).
 */
export abstract class SqlOrderStore implements OrderStore {
  protected constructor(
    protected readonly dataSource: DataSource,
    protected readonly dialect: SqlDialect,
  ) {}

  // --- reads ---------------------------------------------------------------------------------

  async load(orderId: string): Promise<FsmOrder | null> {
    const [row] = await this.read<OrderRow>(SELECT_ORDER, [orderId]);
    return row ? this.toOrder(row) : null;
  }

  async loadForEvent(orderId: string, requestId: string, caller: string): Promise<{ order: FsmOrder | null; consumed: ConsumedRequest | null }> {
    const [row] = await this.read<OrderRow & RequestRow>(SELECT_ORDER_AND_REQUEST, [requestId, caller, orderId]);
    if (row) return { order: this.toOrder(row), consumed: toConsumed(row) };
    // No such order: the request id may still be taken (by another order), which is the answer to give.
    return { order: null, consumed: await this.findConsumedRequest(requestId, caller) };
  }

  async findConsumedRequest(requestId: string, caller: string): Promise<ConsumedRequest | null> {
    const [row] = await this.read<RequestRow>(SELECT_REQUEST, [requestId, caller]);
    return toConsumed(row);
  }

  async listTransitions(orderId: string): Promise<TransitionLogEntry[]> {
    const rows = await this.read<Record<string, unknown>>(SELECT_TRANSITIONS, [orderId]);
    return rows.map((row) => ({
      orderId: String(row.order_id),
      version: Number(row.version),
      event: String(row.event),
      fromState: String(row.from_state),
      toState: String(row.to_state),
      requestId: String(row.request_id),
      caller: String(row.caller),
      source: row.source as TransitionLogEntry['source'],
      createdAt: this.dialect.readTime(row.created_at),
    }));
  }

  async outboxBacklog(): Promise<{ count: number; oldestCreatedAt: Date | null }> {
    const [row] = await this.read<{ count: unknown; oldest: unknown }>(
      'SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM fsm_outbox WHERE published_at IS NULL',
      [],
    );
    return { count: Number(row?.count ?? 0), oldestCreatedAt: row?.oldest == null ? null : this.dialect.readTime(row.oldest) };
  }

  async findStuck(now: Date, limit: number): Promise<StuckOrder[]> {
    // A flagged order's work was dead-lettered: a person looks at it; it is not requeued forever.
    const rows = await this.read<Record<string, unknown>>(
      'SELECT id, state, version, biz_code, scene_id FROM fsm_order WHERE auto_due_at <= ? AND flagged_at IS NULL ORDER BY auto_due_at LIMIT ?',
      [this.dialect.time(now), limit],
    );
    return rows.map((row) => ({
      orderId: String(row.id),
      state: String(row.state),
      version: Number(row.version),
      bizCode: String(row.biz_code),
      sceneId: String(row.scene_id),
    }));
  }

  // --- the transition ------------------------------------------------------------------------

  async commit<O extends SaveOutcome>(write: TransitionWrite<O>): Promise<CommittedTransition<O>> {
    const version = write.order.version + 1;
    try {
      let outcome: O;
      if (!write.save && (await this.commitInOneBatch(write, write.outcome ?? NO_OUTCOME))) {
        outcome = (write.outcome ?? NO_OUTCOME) as O;
      } else {
        outcome = await this.transaction(undefined, async (session, manager) => {
          const [sql, params] = this.fenceOf(write);
          const fenced = await session.changes(sql, params);
          if (write.order.version !== 0 && fenced !== 1) throw new VersionConflictError(write.order.orderId, write.order.version);
          const saved = write.save ? await write.save(manager) : ((write.outcome ?? NO_OUTCOME) as O);
          await this.send(session, this.statementsOf(write, saved, false).slice(1));
          return saved;
        });
      }
      return { order: committedOrder(write, version), outcome };
    } catch (error) {
      throw translateDbError(error, write);
    }
  }

  /**
   * The fence and every row of a transition, in order. With `fenceGuard` the log row's order id is
   * NULL unless the fence just wrote exactly one row (MySQL's ROW_COUNT()): a batch sent whole
   * then fails before COMMIT when the fence lost.
   */
  protected statementsOf(write: TransitionWrite, { response, timers }: SaveOutcome, fenceGuard: boolean): Statement[] {
    const { order, toState, at } = write;
    const version = order.version + 1;
    const time = this.dialect.time(at);
    const statements: Statement[] = [
      this.fenceOf(write),
      [
        fenceGuard ? this.fenceGuarded(INSERT_TRANSITION) : INSERT_TRANSITION,
        [order.orderId, version, write.event, order.state, toState, write.requestId, write.caller, write.source, time, write.requestHash, response],
      ],
    ];
    if (write.messages.length > 0) statements.push(this.outboxInsert(order.orderId, version, write.messages, at));
    if (timers.length > 0) {
      statements.push([
        `${TIMER_HEAD} VALUES ${valuesOf(timers.length, 6)}`,
        timers.flatMap((t) => [order.orderId, version, toState, t.event, this.dialect.time(t.fireAt), time]),
      ]);
    }
    if (write.firesTimer !== undefined) statements.push([MARK_TIMER_FIRED, [time, write.firesTimer]]);
    return statements;
  }

  private fenceOf({ order, toState, at, autoDueAt }: TransitionWrite): Statement {
    const data = JSON.stringify(order.data ?? {});
    const time = this.dialect.time(at);
    const due = autoDueAt ? this.dialect.time(autoDueAt) : null;
    return order.version === 0
      ? [INSERT_ORDER, [order.orderId, order.bizCode, order.sceneId, toState, 1, data, time, time, due]]
      : [UPDATE_ORDER, [toState, order.version + 1, data, time, due, order.orderId, order.version, order.state]];
  }

  /** The log row's INSERT when it is sent in one batch after the fence: only a database that can batch needs it. */
  protected fenceGuarded(insertTransition: string): string {
    return insertTransition;
  }

  /**
   * Sends a whole transition (fence first) in one round trip, when the database can and the
   * processor has no save() of its own; answers false to take the statement-by-statement road.
   * It throws VERSION_CONFLICT (or the database's error, translated) when the fence lost.
   */
  protected async commitInOneBatch(_write: TransitionWrite, _outcome: SaveOutcome): Promise<boolean> {
    return false;
  }

  private outboxInsert(orderId: string, version: number, messages: readonly OutboxMessage[], at: Date, ignoreDuplicates = false): Statement {
    const time = this.dialect.time(at);
    return [
      `${OUTBOX_HEAD} VALUES ${valuesOf(messages.length, 7)}${ignoreDuplicates ? this.dialect.ignoreDuplicateMessage : ''}`,
      messages.flatMap((m) => [m.messageId, orderId, version, m.kind, m.routingKey, m.payload, time]),
    ];
  }

  /** Sends statements of one transaction in order; a database that batches may send them at once. */
  protected async send(session: SqlSession, statements: readonly Statement[]): Promise<void> {
    for (const [sql, params] of statements) await session.changes(sql, params);
  }

  // --- the workers' claims -------------------------------------------------------------------

  async relayOutbox(limit: number, publish: (messages: readonly ClaimedMessage[]) => Promise<readonly number[]>): Promise<number> {
    // Publishing happens while the claim's row locks are held: that is what keeps another relay from
    // publishing an order's later message before this one's earlier one is marked.
    return this.guard(() =>
      this.transaction(this.dialect.claimIsolation, async (session) => {
        const claimed = await session.rows<Record<string, unknown>>(
          `SELECT id, message_id, order_id, kind, routing_key, payload, created_at FROM fsm_outbox WHERE published_at IS NULL ORDER BY id LIMIT ?${this.dialect.skipLocked}`,
          [limit],
        );
        if (claimed.length === 0) return 0;
        // Per order, only the claimed rows that start at its oldest unpublished one, with no gap: a row
        // another relay holds (or that it published but has not marked yet) keeps the later ones back.
        const orders = [...new Set(claimed.map((row) => String(row.order_id)))];
        const pending = await session.rows<{ order_id: string; id: unknown }>(
          `SELECT order_id, id FROM fsm_outbox WHERE published_at IS NULL AND order_id IN (${listOf(orders.length)}) ORDER BY id`,
          orders,
        );
        const eligible = gapFreePrefix(
          claimed.map((row) => ({
            id: Number(row.id),
            messageId: String(row.message_id),
            orderId: String(row.order_id),
            kind: row.kind as ClaimedMessage['kind'],
            routingKey: String(row.routing_key),
            payload: String(row.payload),
            createdAt: this.dialect.readTime(row.created_at),
          })),
          pending.map((p) => ({ orderId: String(p.order_id), id: Number(p.id) })),
        );
        if (eligible.length === 0) return claimed.length;
        const published = acknowledgedPrefix(eligible, new Set(await publish(eligible)));
        if (published.length > 0) {
          await session.changes(`UPDATE fsm_outbox SET published_at = ? WHERE id IN (${listOf(published.length)})`, [this.dialect.time(new Date()), ...published]);
        }
        return claimed.length;
      }),
    );
  }

  async purgePublished(before: Date, limit: number): Promise<number> {
    const [sql, params] = this.dialect.purgePublished(this.dialect.time(before), limit);
    return this.guard(() => this.transaction(this.dialect.claimIsolation, (session) => session.changes(sql, params)));
  }

  async claimDueTimers(now: Date, limit: number, leaseMs: number): Promise<DueTimer[]> {
    return this.guard(() =>
      this.transaction(this.dialect.claimIsolation, async (session) => {
        const due = await session.rows<Record<string, unknown>>(
          `SELECT id, order_id, version, state, event FROM fsm_timer WHERE fired_at IS NULL AND fire_at <= ? ORDER BY fire_at, id LIMIT ?${this.dialect.skipLocked}`,
          [this.dialect.time(now), limit],
        );
        if (due.length === 0) return [];
        const ids = due.map((row) => Number(row.id));
        await session.changes(`UPDATE fsm_timer SET fire_at = ? WHERE id IN (${listOf(ids.length)})`, [this.dialect.time(new Date(now.getTime() + leaseMs)), ...ids]);
        return due.map((row) => ({ id: Number(row.id), orderId: String(row.order_id), version: Number(row.version), state: String(row.state), event: String(row.event) }));
      }),
    );
  }

  async settleTimer(id: number, result: { outcome: string } | { retryAt: Date }): Promise<void> {
    const [sql, params]: Statement =
      'retryAt' in result
        ? ['UPDATE fsm_timer SET fire_at = ? WHERE id = ? AND fired_at IS NULL', [this.dialect.time(result.retryAt), id]]
        : ['UPDATE fsm_timer SET fired_at = ?, outcome = ? WHERE id = ? AND fired_at IS NULL', [this.dialect.time(new Date()), result.outcome.slice(0, 64), id]];
    await this.guard(() => this.transaction(undefined, (session) => session.changes(sql, params)));
  }

  async requeue(order: StuckOrder, messages: readonly OutboxMessage[], nextDueAt: Date | null, now: Date): Promise<boolean> {
    return this.guard(() =>
      this.transaction(undefined, async (session) => {
        const claimed = await session.changes('UPDATE fsm_order SET auto_due_at = ? WHERE id = ? AND version = ? AND auto_due_at <= ?', [
          nextDueAt ? this.dialect.time(nextDueAt) : null,
          order.orderId,
          order.version,
          this.dialect.time(now),
        ]);
        if (claimed !== 1) return false; // it moved on, or another sweeper took it
        if (messages.length > 0) await session.changes(...this.outboxInsert(order.orderId, order.version, messages, now, true));
        return true;
      }),
    );
  }

  async flagOrder(orderId: string, reason: string, at: Date): Promise<void> {
    await this.guard(() =>
      this.transaction(undefined, (session) =>
        session.changes('UPDATE fsm_order SET flagged_at = ?, flag_reason = ? WHERE id = ?', [this.dialect.time(at), reason.slice(0, 512), orderId]),
      ),
    );
  }

  // --- how statements reach the database -----------------------------------------------------

  /** One statement outside a transaction. A driver with a faster road to its pool overrides it. */
  protected async read<R>(sql: string, params: readonly unknown[]): Promise<R[]> {
    return this.guard(() => this.dataSource.query(this.dialect.placeholders(sql), params as unknown[]));
  }

  /** Runs `work` in one transaction on a connection of its own, committed or rolled back as a whole. */
  protected async transaction<R>(isolation: IsolationLevel | undefined, work: (session: SqlSession, manager: EntityManager) => Promise<R>): Promise<R> {
    const runner = this.dataSource.createQueryRunner('master');
    try {
      await runner.startTransaction(isolation);
      const result = await work(this.sessionOf(runner), runner.manager);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  protected sessionOf(runner: QueryRunner): SqlSession {
    const { placeholders } = this.dialect;
    return {
      rows: async (sql, params) => (await runner.query(placeholders(sql), params as unknown[], true)).records,
      changes: async (sql, params) => (await runner.query(placeholders(sql), params as unknown[], true)).affected ?? 0,
    };
  }

  /** Runs `work`, answering a database's failure as the engine's error (DEPENDENCY_UNAVAILABLE when it is unreachable). */
  protected async guard<R>(work: () => Promise<R>): Promise<R> {
    try {
      return await work();
    } catch (error) {
      throw translateDbError(error);
    }
  }

  protected toOrder(row: OrderRow): FsmOrder {
    const { readTime } = this.dialect;
    return {
      orderId: row.id,
      bizCode: row.biz_code,
      sceneId: row.scene_id,
      state: row.state,
      version: Number(row.version),
      data: row.data == null ? {} : typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
      createdAt: readTime(row.created_at),
      updatedAt: readTime(row.updated_at),
      ...(row.flagged_at != null && { flag: { at: readTime(row.flagged_at), reason: row.flag_reason ?? '' } }),
    };
  }
}

function toConsumed(row: RequestRow | undefined): ConsumedRequest | null {
  if (!row?.request_hash) return null;
  return { requestHash: row.request_hash, response: row.response ? JSON.parse(row.response) : null };
}

function committedOrder({ order, toState, at }: TransitionWrite, version: number): FsmOrder {
  return { ...order, state: toState, version, createdAt: order.version === 0 ? at : order.createdAt, updatedAt: at };
}
