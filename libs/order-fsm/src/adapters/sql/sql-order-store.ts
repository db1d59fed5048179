import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel.js';
import { translateDbError } from '../../errors/db-errors.js';
import { VersionConflictError } from '../../errors/order-fsm.errors.js';
import type { OutboxMessage, TraceCarrier } from '../../model/messages.js';
import type { FsmOrder } from '../../model/order.js';
import type {
  DeadLetter,
  DeadLetterQuery,
  DeadLetterSettlement,
  ListedOrder,
  OperatorAction,
  OpsStore,
  OrderHistory,
  OrderListQuery,
  OrderMessage,
  OrderTimer,
  Requeue,
  StateCount,
  UnpublishedBacklog,
  WorkAttempt,
} from '../../ports/ops-store.js';
import type {
  ClaimedMessage,
  CommittedTransition,
  ConsumedRequest,
  DeadLetterWrite,
  DueTimer,
  HeldEvent,
  HeldEventSettlement,
  LateEventRecord,
  LateEventWrite,
  OperatorActionWrite,
  OrderStore,
  SaveOutcome,
  StuckOrder,
  TimerWrite,
  TransitionLogEntry,
  TransitionWrite,
  WorkAttemptWrite,
} from '../../ports/order-store.js';
import { acknowledgedPrefix, gapFreePrefix } from './outbox-prefix.js';
import type { SqlDialect, Statement } from './sql-dialect.js';

// The statements, once for every database: `?` for values (the dialect numbers them where it must),
// lists expanded to one placeholder per value.
const ORDER_COLUMNS =
  'o.id, o.biz_code, o.scene_id, o.state, o.version, o.data, o.created_at, o.updated_at, o.flagged_at, o.flag_reason, o.paused_at, o.pause_reason, o.machine_version, o.late_events';
const SELECT_ORDER = `SELECT ${ORDER_COLUMNS} FROM fsm_order o WHERE o.id = ?`;
// One round trip for both: the order, and the transition that already consumed this request id, if
// any. A late event may have consumed it too, but only on an order with late events (late_events > 0):
// such an order's load looks in fsm_late_event as well, one more round trip that other orders never pay.
const SELECT_ORDER_AND_REQUEST = `SELECT ${ORDER_COLUMNS}, t.request_hash, t.response
  FROM fsm_order o LEFT JOIN fsm_transition t ON t.request_id = ? AND t.caller = ? WHERE o.id = ?`;
const SELECT_REQUEST = `SELECT request_hash, response FROM fsm_transition WHERE request_id = ? AND caller = ?
  UNION ALL SELECT request_hash, response FROM fsm_late_event WHERE request_id = ? AND caller = ?`;
export const INSERT_ORDER =
  'INSERT INTO fsm_order (id, biz_code, scene_id, state, version, data, created_at, updated_at, auto_due_at, machine_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
// The fence: the row changes only if nobody moved it since it was read, and nobody paused it. A
// writer that waited on the row's lock re-checks the WHERE against the row as committed, so it loses.
const UPDATE_ORDER_SET =
  'UPDATE fsm_order SET state = ?, version = ?, data = ?, updated_at = ?, auto_due_at = ?, machine_version = ?, flagged_at = NULL, flag_reason = NULL';
export const UPDATE_ORDER = `${UPDATE_ORDER_SET} WHERE id = ? AND version = ? AND state = ? AND paused_at IS NULL`;
// An operator's forced move: fenced by the version alone, so that a paused order can be moved (and stays paused).
export const UPDATE_ORDER_OVERRIDING_PAUSE = `${UPDATE_ORDER_SET} WHERE id = ? AND version = ? AND state = ?`;
export const INSERT_TRANSITION =
  'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, caller, source, created_at, request_hash, response, actor, reason, machine_version, payload, processor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const INSERT_ACTION = 'INSERT INTO fsm_operator_action (order_id, kind, actor, reason, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)';
const OUTBOX_HEAD = 'INSERT INTO fsm_outbox (message_id, order_id, version, kind, routing_key, payload, created_at, trace_context)';
/** A message's trace context as its row keeps it: JSON, or NULL when the transition was not traced. */
export const traceContextColumn = (message: OutboxMessage): string | null => (message.traceContext ? JSON.stringify(message.traceContext) : null);
const TIMER_HEAD = 'INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at)';
const MARK_TIMER_FIRED = "UPDATE fsm_timer SET fired_at = ?, outcome = 'fired' WHERE id = ?";
const SELECT_TRANSITIONS_OF_ORDER =
  'SELECT order_id, version, event, from_state, to_state, request_id, caller, source, created_at, actor, reason, machine_version, payload, processor FROM fsm_transition WHERE order_id = ?';
const SELECT_TRANSITIONS = `${SELECT_TRANSITIONS_OF_ORDER} ORDER BY version`;
const SELECT_LATE_EVENTS =
  'SELECT id, order_id, version, state, event, request_id, caller, source, policy, status, deadline, settled_at, outcome, created_at FROM fsm_late_event WHERE order_id = ?';
const DEAD_LETTER_COLUMNS =
  'id, message_id, order_id, version, state, event, reason, attempts, created_at, status, settled_at, settled_by, settle_reason, outcome';
/** A stored trace context; one that does not read as headers is left out (the message goes, untraced). */
function readTraceContext(stored: unknown): TraceCarrier | undefined {
  try {
    const parsed: unknown = JSON.parse(String(stored));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    return Object.values(parsed).every((value) => typeof value === 'string') ? (parsed as TraceCarrier) : undefined;
  } catch {
    return undefined;
  }
}

/** The longest text a reason, an outcome or a flag may have in its column. */
export const REASON_LENGTH = 512;

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
  paused_at: unknown;
  pause_reason: string | null;
  machine_version?: number | string | null;
  late_events?: number | string | null;
  auto_due_at?: unknown;
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
/** The relay's claim, oldest first, before the dialect's row locking: `LIMIT ?` is the batch. */
export const CLAIM_OUTBOX =
  'SELECT id, message_id, order_id, kind, routing_key, payload, created_at, trace_context FROM fsm_outbox WHERE published_at IS NULL ORDER BY id LIMIT ?';

/** Hands the publishable messages to `publish` and answers the ids to mark: per order, the acknowledged prefix. */
export async function publishedOf(eligible: readonly ClaimedMessage[], publish: (messages: readonly ClaimedMessage[]) => Promise<readonly number[]>): Promise<number[]> {
  return eligible.length === 0 ? [] : acknowledgedPrefix(eligible, new Set(await publish(eligible)));
}

export const listOf = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** A WHERE clause built condition by condition, with its values in order. */
class Conditions {
  private readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  add(clause: string, ...values: unknown[]): void {
    this.clauses.push(clause);
    this.params.push(...values);
  }

  get sql(): string {
    return this.clauses.length > 0 ? ` WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

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
export abstract class SqlOrderStore implements OrderStore, OpsStore {
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
    if (row) {
      const order = this.toOrder(row);
      const consumed = toConsumed(row) ?? (order.lateEvents ? await this.findConsumedRequest(requestId, caller) : null);
      return { order, consumed };
    }
    // No such order: the request id may still be taken (by another order), which is the answer to give.
    return { order: null, consumed: await this.findConsumedRequest(requestId, caller) };
  }

  async findConsumedRequest(requestId: string, caller: string): Promise<ConsumedRequest | null> {
    const [row] = await this.read<RequestRow>(SELECT_REQUEST, [requestId, caller, requestId, caller]);
    return toConsumed(row);
  }

  async listTransitions(orderId: string): Promise<TransitionLogEntry[]> {
    return (await this.read<Record<string, unknown>>(SELECT_TRANSITIONS, [orderId])).map((row) => this.toLogEntry(row));
  }

  private toLogEntry(row: Record<string, unknown>): TransitionLogEntry {
    return {
      orderId: String(row.order_id),
      version: Number(row.version),
      event: String(row.event),
      fromState: String(row.from_state),
      toState: String(row.to_state),
      requestId: String(row.request_id),
      caller: String(row.caller),
      source: row.source as TransitionLogEntry['source'],
      // Rows written before the log had an actor: whoever sent them.
      actor: row.actor ? String(row.actor) : String(row.caller),
      reason: row.reason == null ? null : String(row.reason),
      createdAt: this.dialect.readTime(row.created_at),
      machineVersion: row.machine_version == null ? 1 : Number(row.machine_version),
      payload: row.payload == null ? undefined : JSON.parse(String(row.payload)),
      processor: row.processor == null ? null : String(row.processor),
    };
  }

  async outboxBacklog(): Promise<{ count: number; oldestCreatedAt: Date | null }> {
    const [row] = await this.read<{ count: unknown; oldest: unknown }>(
      'SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM fsm_outbox WHERE published_at IS NULL',
      [],
    );
    return { count: Number(row?.count ?? 0), oldestCreatedAt: row?.oldest == null ? null : this.dialect.readTime(row.oldest) };
  }

  async findStuck(now: Date, limit: number): Promise<StuckOrder[]> {
    // A flagged order's work was dead-lettered: a person looks at it; it is not requeued forever. A
    // paused one is left alone until it is resumed, which queues its work again.
    const rows = await this.read<Record<string, unknown>>(
      'SELECT id, state, version, biz_code, scene_id, machine_version FROM fsm_order WHERE auto_due_at <= ? AND flagged_at IS NULL AND paused_at IS NULL ORDER BY auto_due_at LIMIT ?',
      [this.dialect.time(now), limit],
    );
    return rows.map((row) => ({
      orderId: String(row.id),
      state: String(row.state),
      version: Number(row.version),
      bizCode: String(row.biz_code),
      sceneId: String(row.scene_id),
      // As load() reads it: an order stored before machines had versions follows version 1.
      machineVersion: row.machine_version == null ? 1 : Number(row.machine_version),
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
        [
          order.orderId,
          version,
          write.event,
          order.state,
          toState,
          write.requestId,
          write.caller,
          write.source,
          time,
          write.requestHash,
          response,
          write.actor ?? write.caller,
          write.reason === undefined ? null : write.reason.slice(0, REASON_LENGTH),
          write.machineVersion ?? order.machineVersion ?? 1,
          write.payload ?? null,
          write.processor ?? null,
        ],
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
    if (write.audit) statements.push(this.actionInsert(write.audit));
    return statements;
  }

  private actionInsert(action: OperatorActionWrite): Statement {
    const detail = action.detail === undefined ? null : JSON.stringify(action.detail);
    return [INSERT_ACTION, [action.orderId, action.kind.slice(0, 16), action.actor, action.reason.slice(0, REASON_LENGTH), detail, this.dialect.time(action.at)]];
  }

  private fenceOf({ order, toState, at, autoDueAt, overridesPause, machineVersion }: TransitionWrite): Statement {
    const data = JSON.stringify(order.data ?? {});
    const time = this.dialect.time(at);
    const due = autoDueAt ? this.dialect.time(autoDueAt) : null;
    const mv = machineVersion ?? order.machineVersion ?? 1;
    return order.version === 0
      ? [INSERT_ORDER, [order.orderId, order.bizCode, order.sceneId, toState, 1, data, time, time, due, mv]]
      : [overridesPause ? UPDATE_ORDER_OVERRIDING_PAUSE : UPDATE_ORDER, [toState, order.version + 1, data, time, due, mv, order.orderId, order.version, order.state]];
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
      `${OUTBOX_HEAD} VALUES ${valuesOf(messages.length, 8)}${ignoreDuplicates ? this.dialect.ignoreDuplicateMessage : ''}`,
      messages.flatMap((m) => [m.messageId, orderId, version, m.kind, m.routingKey, m.payload, time, traceContextColumn(m)]),
    ];
  }

  /** Sends statements of one transaction in order; a database that batches may send them at once. */
  protected async send(session: SqlSession, statements: readonly Statement[]): Promise<void> {
    for (const [sql, params] of statements) await session.changes(sql, params);
  }

  // --- late events ----------------------------------------------------------------------------

  async recordLateEvent(write: LateEventWrite): Promise<number> {
    try {
      return await this.transaction(undefined, async (session) => {
        // The fence of a late event: the order, locked, still at the version and state it was read at.
        const [row] = await session.rows<{ version: unknown; state: string; paused_at: unknown }>(
          `SELECT version, state, paused_at FROM fsm_order WHERE id = ?${this.dialect.skipLocked ? ' FOR UPDATE' : ''}`,
          [write.order.orderId],
        );
        if (!row || Number(row.version) !== write.order.version || row.state !== write.order.state || row.paused_at != null) {
          throw new VersionConflictError(write.order.orderId, write.order.version);
        }
        const time = this.dialect.time(write.at);
        // Counted on the order: its next loads look for request ids in fsm_late_event too, its transitions wake its held events.
        await session.changes('UPDATE fsm_order SET late_events = late_events + 1 WHERE id = ?', [write.order.orderId]);
        await session.changes(
          `INSERT INTO fsm_late_event (order_id, version, state, event, request_id, caller, caller_role, source, request_hash, payload, policy, status, response, deadline, next_check_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            write.order.orderId,
            write.order.version,
            write.order.state,
            write.event,
            write.requestId,
            write.caller,
            write.callerRole,
            write.source.slice(0, 16),
            write.requestHash,
            write.payload,
            write.policy,
            write.status,
            write.response,
            write.deadline ? this.dialect.time(write.deadline) : null,
            write.deadline ? this.dialect.time(write.deadline) : null,
            time,
          ],
        );
        if (write.messages.length > 0) await session.changes(...this.outboxInsert(write.order.orderId, write.order.version, write.messages, write.at));
        const [inserted] = await session.rows<{ id: unknown }>('SELECT id FROM fsm_late_event WHERE request_id = ? AND caller = ?', [write.requestId, write.caller]);
        return Number(inserted?.id);
      });
    } catch (error) {
      throw translateDbError(error, write);
    }
  }

  async claimHeldEvents(now: Date, limit: number, leaseMs: number): Promise<HeldEvent[]> {
    return this.guard(() =>
      this.transaction(this.dialect.claimIsolation, async (session) => {
        const due = await session.rows<Record<string, unknown>>(
          `SELECT id, order_id, version, state, event, request_id, caller, caller_role, source, payload, deadline, created_at FROM fsm_late_event
            WHERE status = 'held' AND next_check_at <= ? ORDER BY next_check_at, id LIMIT ?${this.dialect.skipLocked}`,
          [this.dialect.time(now), limit],
        );
        if (due.length === 0) return [];
        const ids = due.map((row) => Number(row.id));
        await session.changes(`UPDATE fsm_late_event SET next_check_at = ? WHERE id IN (${listOf(ids.length)})`, [this.dialect.time(new Date(now.getTime() + leaseMs)), ...ids]);
        return due.map((row) => ({
          id: Number(row.id),
          orderId: String(row.order_id),
          version: Number(row.version),
          state: String(row.state),
          event: String(row.event),
          requestId: String(row.request_id),
          caller: String(row.caller),
          callerRole: String(row.caller_role ?? ''),
          source: String(row.source),
          payload: row.payload == null ? undefined : JSON.parse(String(row.payload)),
          deadline: this.dialect.readTime(row.deadline),
          createdAt: this.dialect.readTime(row.created_at),
        }));
      }),
    );
  }

  async settleHeldEvent(id: number, settlement: HeldEventSettlement): Promise<boolean> {
    return this.guard(() =>
      this.transaction(undefined, async (session) => {
        const now = new Date();
        const due = (at: Date) => session.changes("UPDATE fsm_late_event SET next_check_at = ? WHERE id = ? AND status = 'held'", [this.dialect.time(at), id]);
        const ending = !('nextCheckAt' in settlement);
        // An ending's messages join the order's in the outbox: first the order's row, as every
        // transition takes it, so that they take their ids after a transition in flight commits. A
        // relay publishes each order's messages in id order, and an id taken early but committed late
        // could be overtaken. The same row fences what was decided on the order at a version: held
        // until the commit, it cannot move between the check and the write.
        const fenced = settlement.orderVersion !== undefined;
        if (fenced || (ending && settlement.messages.length > 0 && this.dialect.skipLocked)) {
          if (!settlement.orderId) throw new Error('settleHeldEvent: orderVersion without orderId');
          const [row] = await session.rows<{ version: number | string; paused_at: unknown }>(
            `SELECT version, paused_at FROM fsm_order WHERE id = ?${this.dialect.skipLocked ? ' FOR UPDATE' : ''}`,
            [settlement.orderId],
          );
          // Moved since (or, for an ending, paused since: a paused order's events wait): looked at again now.
          if (fenced && (!row || Number(row.version) !== settlement.orderVersion || (ending && row.paused_at != null))) {
            await due(now);
            return false;
          }
        }
        if (!ending) {
          await due(settlement.nextCheckAt);
          return false;
        }
        const settled = await session.changes(
          "UPDATE fsm_late_event SET status = ?, outcome = ?, response = ?, settled_at = ?, next_check_at = NULL WHERE id = ? AND status = 'held'",
          [settlement.status, settlement.outcome.slice(0, REASON_LENGTH), settlement.response, this.dialect.time(now), id],
        );
        // Settled once: the message and the flag go with the first settlement only (a second one finds it settled).
        if (settled === 1 && settlement.messages.length > 0) {
          await session.changes(...this.outboxInsert(settlement.orderId, settlement.version, settlement.messages, now, true));
        }
        if (settled === 1 && settlement.flag) {
          await session.changes('UPDATE fsm_order SET flagged_at = ?, flag_reason = ? WHERE id = ?', [this.dialect.time(now), settlement.flag.slice(0, REASON_LENGTH), settlement.orderId]);
        }
        return settled === 1;
      }),
    );
  }

  async wakeHeldEvents(orderId: string, now: Date): Promise<void> {
    const time = this.dialect.time(now);
    await this.guard(() =>
      this.transaction(undefined, (session) =>
        session.changes("UPDATE fsm_late_event SET next_check_at = ? WHERE order_id = ? AND status = 'held' AND next_check_at > ?", [time, orderId, time]),
      ),
    );
  }

  async listLateEvents(orderId: string): Promise<LateEventRecord[]> {
    return (await this.read<Record<string, unknown>>(`${SELECT_LATE_EVENTS} ORDER BY id`, [orderId])).map((row) => this.toLateEvent(row));
  }

  private toLateEvent(row: Record<string, unknown>): LateEventRecord {
    const { readTime } = this.dialect;
    return {
      id: Number(row.id),
      orderId: String(row.order_id),
      version: Number(row.version),
      state: String(row.state),
      event: String(row.event),
      requestId: String(row.request_id),
      caller: String(row.caller),
      source: String(row.source),
      policy: String(row.policy),
      status: String(row.status),
      deadline: row.deadline == null ? null : readTime(row.deadline),
      settledAt: row.settled_at == null ? null : readTime(row.settled_at),
      outcome: row.outcome == null ? null : String(row.outcome),
      createdAt: readTime(row.created_at),
    };
  }

  async pendingTimers(orderId: string, version: number): Promise<TimerWrite[]> {
    const rows = await this.read<{ event: string; fire_at: unknown }>('SELECT event, fire_at FROM fsm_timer WHERE order_id = ? AND version = ? AND fired_at IS NULL ORDER BY id', [
      orderId,
      version,
    ]);
    return rows.map((row) => ({ event: String(row.event), fireAt: this.dialect.readTime(row.fire_at) }));
  }

  // --- the workers' claims -------------------------------------------------------------------

  async relayOutbox(limit: number, publish: (messages: readonly ClaimedMessage[]) => Promise<readonly number[]>): Promise<number> {
    // Publishing happens while the claim's row locks are held: that is what keeps another relay from
    // publishing an order's later message before this one's earlier one is marked.
    return this.guard(() =>
      this.transaction(this.dialect.claimIsolation, async (session) => {
        const claimed = (await session.rows<Record<string, unknown>>(`${CLAIM_OUTBOX}${this.dialect.skipLocked}`, [limit])).map((row) => this.claimedMessage(row));
        if (claimed.length === 0) return 0;
        const published = await publishedOf(gapFreePrefix(claimed, await this.pendingOf(session, claimed)), publish);
        if (published.length > 0) {
          await session.changes(`UPDATE fsm_outbox SET published_at = ? WHERE id IN (${listOf(published.length)})`, [this.dialect.time(new Date()), ...published]);
        }
        return claimed.length;
      }),
    );
  }

  /**
   * The unpublished messages of the claimed messages' orders, in id order, for gapFreePrefix: per
   * order, only the claimed rows that start at its oldest unpublished one, with no gap, may go out. A
   * row another relay holds (or that it published but has not marked yet) keeps the later ones back.
   */
  protected async pendingOf(session: SqlSession, claimed: readonly ClaimedMessage[]): Promise<Array<{ orderId: string; id: number }>> {
    const orders = [...new Set(claimed.map((m) => m.orderId))];
    const pending = await session.rows<{ order_id: string; id: unknown }>(
      `SELECT order_id, id FROM fsm_outbox WHERE published_at IS NULL AND order_id IN (${listOf(orders.length)}) ORDER BY id`,
      orders,
    );
    return pending.map((p) => ({ orderId: String(p.order_id), id: Number(p.id) }));
  }

  /** A row of the relay's claim (CLAIM_OUTBOX) as the message it hands to the publisher. */
  protected claimedMessage(row: Record<string, unknown>): ClaimedMessage {
    return {
      id: Number(row.id),
      messageId: String(row.message_id),
      orderId: String(row.order_id),
      kind: row.kind as ClaimedMessage['kind'],
      routingKey: String(row.routing_key),
      payload: String(row.payload),
      createdAt: this.dialect.readTime(row.created_at),
      ...(row.trace_context != null && { traceContext: readTraceContext(row.trace_context) }),
    };
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

  async settleTimer(id: number, result: { outcome: string } | { retryAt: Date; held?: boolean }): Promise<void> {
    const [sql, params]: Statement =
      'retryAt' in result
        ? // A held timer stays pending, noted `paused`: resumeOrder() finds it by that note.
          ['UPDATE fsm_timer SET fire_at = ?, outcome = ? WHERE id = ? AND fired_at IS NULL', [this.dialect.time(result.retryAt), result.held ? 'paused' : null, id]]
        : ['UPDATE fsm_timer SET fired_at = ?, outcome = ? WHERE id = ? AND fired_at IS NULL', [this.dialect.time(new Date()), result.outcome.slice(0, 64), id]];
    await this.guard(() => this.transaction(undefined, (session) => session.changes(sql, params)));
  }

  async requeue(order: StuckOrder, messages: readonly OutboxMessage[], nextDueAt: Date | null, now: Date): Promise<boolean> {
    return this.guard(() =>
      this.transaction(undefined, async (session) => {
        const claimed = await session.changes('UPDATE fsm_order SET auto_due_at = ? WHERE id = ? AND version = ? AND auto_due_at <= ? AND paused_at IS NULL', [
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
        session.changes('UPDATE fsm_order SET flagged_at = ?, flag_reason = ? WHERE id = ?', [this.dialect.time(at), reason.slice(0, REASON_LENGTH), orderId]),
      ),
    );
  }

  async recordDeadLetter({ work, reason, attempts, at }: DeadLetterWrite): Promise<void> {
    const time = this.dialect.time(at);
    await this.guard(() =>
      this.transaction(undefined, async (session) => {
        await session.changes(
          `INSERT INTO fsm_dead_letter (message_id, order_id, version, state, event, reason, attempts, created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'dead')${this.dialect.ignoreDuplicateMessage}`,
          [work.messageId, work.orderId, work.version, work.state, work.event, reason.slice(0, REASON_LENGTH), attempts, time],
        );
        await session.changes('UPDATE fsm_order SET flagged_at = ?, flag_reason = ? WHERE id = ?', [
          time,
          `automatic ${work.event} dead-lettered: ${reason}`.slice(0, REASON_LENGTH),
          work.orderId,
        ]);
      }),
    );
  }

  async recordWorkAttempt({ work, attempt, outcome, errorCode, message, retryAt, at }: WorkAttemptWrite): Promise<void> {
    const { time } = this.dialect;
    await this.guard(() =>
      this.transaction(undefined, (session) =>
        session.changes(
          'INSERT INTO fsm_work_attempt (order_id, version, state, event, attempt, outcome, error_code, message, retry_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            work.orderId,
            work.version,
            work.state,
            work.event,
            attempt,
            outcome,
            errorCode.slice(0, 64),
            message.slice(0, REASON_LENGTH),
            retryAt == null ? null : time(retryAt),
            time(at),
          ],
        ),
      ),
    );
  }

  // --- the operator's --------------------------------------------------------------------------

  async listOrders(query: OrderListQuery): Promise<ListedOrder[]> {
    const { time } = this.dialect;
    const where = new Conditions();
    if (query.state !== undefined) where.add('o.state = ?', query.state);
    if (query.bizCode !== undefined) where.add('o.biz_code = ?', query.bizCode);
    if (query.sceneId !== undefined) where.add('o.scene_id = ?', query.sceneId);
    if (query.updatedBefore !== undefined) where.add('o.updated_at < ?', time(query.updatedBefore));
    if (query.paused !== undefined) where.add(query.paused ? 'o.paused_at IS NOT NULL' : 'o.paused_at IS NULL');
    if (query.machineVersion !== undefined) where.add('o.machine_version = ?', query.machineVersion);
    if (query.orderIds !== undefined) {
      if (query.orderIds.length === 0) return [];
      where.add(`o.id IN (${listOf(query.orderIds.length)})`, ...query.orderIds);
    }
    const direction = query.order === 'asc' ? 'ASC' : 'DESC';
    if (query.after) {
      // The keyset (updated_at, id), written out rather than as a row comparison, which not every
      // optimizer turns into a range of the index; the bound on updated_at alone is what each one
      // uses as the range (PostgreSQL would otherwise filter every newer entry on a deep page).
      const than = query.order === 'asc' ? '>' : '<';
      const at = time(query.after.updatedAt);
      where.add(`o.updated_at ${than}= ? AND (o.updated_at ${than} ? OR o.id ${than} ?)`, at, at, query.after.orderId);
    }
    const rows = await this.read<OrderRow>(
      `SELECT ${ORDER_COLUMNS}, o.auto_due_at FROM fsm_order o${where.sql} ORDER BY o.updated_at ${direction}, o.id ${direction} LIMIT ?`,
      [...where.params, query.limit],
    );
    return rows.map((row) => this.toListedOrder(row));
  }

  async orderHistory(orderId: string, limit: number): Promise<OrderHistory> {
    // The latest `limit` of each, answered oldest first.
    const latest = async (sql: string): Promise<Record<string, unknown>[]> => (await this.read<Record<string, unknown>>(sql, [orderId, limit])).reverse();
    const { readTime } = this.dialect;
    const maybeTime = (value: unknown): Date | null => (value == null ? null : readTime(value));
    const [transitions, messages, timers, deadLetters, actions, workAttempts, lateEvents] = await Promise.all([
      latest(`${SELECT_TRANSITIONS_OF_ORDER} ORDER BY version DESC LIMIT ?`),
      latest('SELECT id, message_id, kind, version, routing_key, created_at, published_at FROM fsm_outbox WHERE order_id = ? ORDER BY id DESC LIMIT ?'),
      latest('SELECT id, version, state, event, fire_at, fired_at, outcome FROM fsm_timer WHERE order_id = ? ORDER BY id DESC LIMIT ?'),
      latest(`SELECT ${DEAD_LETTER_COLUMNS} FROM fsm_dead_letter WHERE order_id = ? ORDER BY id DESC LIMIT ?`),
      latest('SELECT id, order_id, kind, actor, reason, detail, created_at FROM fsm_operator_action WHERE order_id = ? ORDER BY id DESC LIMIT ?'),
      latest(
        'SELECT id, version, state, event, attempt, outcome, error_code, message, retry_at, created_at FROM fsm_work_attempt WHERE order_id = ? ORDER BY id DESC LIMIT ?',
      ),
      latest(`${SELECT_LATE_EVENTS} ORDER BY id DESC LIMIT ?`),
    ]);
    return {
      transitions: transitions.map((row) => this.toLogEntry(row)),
      messages: messages.map(
        (row): OrderMessage => ({
          id: Number(row.id),
          messageId: String(row.message_id),
          kind: row.kind as OrderMessage['kind'],
          version: Number(row.version),
          routingKey: String(row.routing_key),
          createdAt: readTime(row.created_at),
          publishedAt: maybeTime(row.published_at),
        }),
      ),
      timers: timers.map(
        (row): OrderTimer => ({
          id: Number(row.id),
          version: Number(row.version),
          state: String(row.state),
          event: String(row.event),
          fireAt: readTime(row.fire_at),
          firedAt: maybeTime(row.fired_at),
          outcome: row.outcome == null ? null : String(row.outcome),
        }),
      ),
      deadLetters: deadLetters.map((row) => this.toDeadLetter(row)),
      actions: actions.map(
        (row): OperatorAction => ({
          id: Number(row.id),
          orderId: String(row.order_id),
          kind: String(row.kind),
          actor: String(row.actor),
          reason: String(row.reason),
          at: readTime(row.created_at),
          ...(row.detail != null && { detail: JSON.parse(String(row.detail)) }),
        }),
      ),
      workAttempts: workAttempts.map(
        (row): WorkAttempt => ({
          id: Number(row.id),
          version: Number(row.version),
          state: String(row.state),
          event: String(row.event),
          attempt: Number(row.attempt),
          outcome: String(row.outcome) as WorkAttempt['outcome'],
          errorCode: String(row.error_code),
          message: String(row.message),
          retryAt: maybeTime(row.retry_at),
          at: readTime(row.created_at),
        }),
      ),
      lateEvents: lateEvents.map((row) => this.toLateEvent(row)),
    };
  }

  async pauseOrder(order: { orderId: string; version: number }, action: OperatorActionWrite): Promise<boolean> {
    return this.guard(() =>
      this.transaction(undefined, async (session) => {
        const paused = await session.changes('UPDATE fsm_order SET paused_at = ?, pause_reason = ? WHERE id = ? AND version = ? AND paused_at IS NULL', [
          this.dialect.time(action.at),
          action.reason.slice(0, REASON_LENGTH),
          order.orderId,
          order.version,
        ]);
        if (paused !== 1) return false;
        await session.changes(...this.actionInsert(action));
        return true;
      }),
    );
  }

  async resumeOrder(order: { orderId: string; version: number }, action: OperatorActionWrite, requeue: Requeue, now: Date): Promise<boolean> {
    const time = this.dialect.time(now);
    return this.guard(() =>
      this.transaction(undefined, async (session) => {
        const resumed = await session.changes('UPDATE fsm_order SET paused_at = NULL, pause_reason = NULL, auto_due_at = ? WHERE id = ? AND version = ? AND paused_at IS NOT NULL', [
          requeue.autoDueAt ? this.dialect.time(requeue.autoDueAt) : null,
          order.orderId,
          order.version,
        ]);
        if (resumed !== 1) return false;
        if (requeue.messages.length > 0) await session.changes(...this.outboxInsert(order.orderId, order.version, requeue.messages, now, true));
        // The timers the pause held back come due now; the poller fires them (those of an earlier version find it moved on).
        await session.changes("UPDATE fsm_timer SET fire_at = ?, outcome = NULL WHERE order_id = ? AND fired_at IS NULL AND outcome = 'paused'", [time, order.orderId]);
        await session.changes(...this.actionInsert(action));
        return true;
      }),
    );
  }

  async recordOperatorAction(action: OperatorActionWrite): Promise<void> {
    await this.guard(() => this.transaction(undefined, (session) => session.changes(...this.actionInsert(action))));
  }

  async countOrders(states: readonly string[]): Promise<StateCount[]> {
    if (states.length === 0) return [];
    const rows = await this.read<Record<string, unknown>>(
      `SELECT state, biz_code, scene_id, COUNT(*) AS n FROM fsm_order WHERE state IN (${listOf(states.length)}) GROUP BY state, biz_code, scene_id`,
      states,
    );
    return rows.map((row) => ({ state: String(row.state), bizCode: String(row.biz_code), sceneId: String(row.scene_id), count: Number(row.n) }));
  }

  async findOverdue(now: Date, limit: number): Promise<ListedOrder[]> {
    const rows = await this.read<OrderRow>(`SELECT ${ORDER_COLUMNS}, o.auto_due_at FROM fsm_order o WHERE o.auto_due_at <= ? ORDER BY o.auto_due_at LIMIT ?`, [
      this.dialect.time(now),
      limit,
    ]);
    return rows.map((row) => this.toListedOrder(row));
  }

  async findUnpublished(before: Date, limit: number): Promise<UnpublishedBacklog[]> {
    // Over the relay's index (published_at, id): only the backlog is read, however large the outbox.
    const rows = await this.read<Record<string, unknown>>(
      `SELECT order_id, COUNT(*) AS n, MIN(created_at) AS oldest FROM fsm_outbox WHERE published_at IS NULL AND created_at < ?
        GROUP BY order_id ORDER BY MIN(created_at), order_id LIMIT ?`,
      [this.dialect.time(before), limit],
    );
    return rows.map((row) => ({ orderId: String(row.order_id), count: Number(row.n), oldestCreatedAt: this.dialect.readTime(row.oldest) }));
  }

  async listDeadLetters(query: DeadLetterQuery): Promise<DeadLetter[]> {
    const where = new Conditions();
    if (query.status !== undefined) where.add('status = ?', query.status);
    if (query.event !== undefined) where.add('event = ?', query.event);
    if (query.beforeId !== undefined) where.add('id < ?', query.beforeId);
    for (const [column, values] of [
      ['id', query.ids],
      ['order_id', query.orderIds],
    ] as const) {
      if (values === undefined) continue;
      if (values.length === 0) return [];
      where.add(`${column} IN (${listOf(values.length)})`, ...values);
    }
    const rows = await this.read<Record<string, unknown>>(`SELECT ${DEAD_LETTER_COLUMNS} FROM fsm_dead_letter${where.sql} ORDER BY id DESC LIMIT ?`, [
      ...where.params,
      query.limit,
    ]);
    return rows.map((row) => this.toDeadLetter(row));
  }

  async settleDeadLetter(id: number, settlement: DeadLetterSettlement, action: OperatorActionWrite | null): Promise<boolean> {
    const time = this.dialect.time(settlement.at);
    const open = settlement.status === 'dead';
    return this.guard(() =>
      this.transaction(undefined, async (session) => {
        const settled = await session.changes(
          "UPDATE fsm_dead_letter SET status = ?, settled_at = ?, settled_by = ?, settle_reason = ?, outcome = ? WHERE id = ? AND status = 'dead'",
          [
            settlement.status,
            open ? null : time,
            open ? null : settlement.actor,
            open ? null : settlement.reason.slice(0, REASON_LENGTH),
            settlement.outcome === null ? null : settlement.outcome.slice(0, REASON_LENGTH),
            id,
          ],
        );
        if (settled !== 1) return false;
        if (action) await session.changes(...this.actionInsert(action));
        return true;
      }),
    );
  }

  private toListedOrder(row: OrderRow): ListedOrder {
    return { ...this.toOrder(row), autoDueAt: row.auto_due_at == null ? null : this.dialect.readTime(row.auto_due_at) };
  }

  private toDeadLetter(row: Record<string, unknown>): DeadLetter {
    const { readTime } = this.dialect;
    return {
      id: Number(row.id),
      messageId: String(row.message_id),
      orderId: String(row.order_id),
      version: Number(row.version),
      state: String(row.state),
      event: String(row.event),
      reason: String(row.reason),
      attempts: Number(row.attempts),
      createdAt: readTime(row.created_at),
      status: String(row.status) as DeadLetter['status'],
      settledAt: row.settled_at == null ? null : readTime(row.settled_at),
      settledBy: row.settled_by == null ? null : String(row.settled_by),
      settleReason: row.settle_reason == null ? null : String(row.settle_reason),
      outcome: row.outcome == null ? null : String(row.outcome),
    };
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
      ...(row.paused_at != null && { paused: { at: readTime(row.paused_at), reason: row.pause_reason ?? '' } }),
      machineVersion: row.machine_version == null ? 1 : Number(row.machine_version),
      ...(row.late_events != null && Number(row.late_events) > 0 && { lateEvents: Number(row.late_events) }),
    };
  }
}

function toConsumed(row: RequestRow | undefined): ConsumedRequest | null {
  if (!row?.request_hash) return null;
  return { requestHash: row.request_hash, response: row.response ? JSON.parse(row.response) : null };
}

function committedOrder({ order, toState, at, machineVersion }: TransitionWrite, version: number): FsmOrder {
  // The fence clears the flag (a transition is the attention a flagged order needed).
  const { flag: _cleared, ...rest } = order;
  return { ...rest, state: toState, version, createdAt: order.version === 0 ? at : order.createdAt, updatedAt: at, machineVersion: machineVersion ?? order.machineVersion ?? 1 };
}
