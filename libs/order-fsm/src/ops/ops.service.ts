import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CommitSignal } from '../engine/commit-signal.js';
import { derivedRequestId, type MigrationOutcome, type MigrationStep, OrderFsmEngine } from '../engine/order-fsm.engine.js';
import { errorKindOf } from '../errors/error-codes.js';
import {
  DeadLetterSettledError,
  OrderFsmError,
  OrderNotFoundError,
  OrderNotPausedError,
  OrderPausedError,
  OrderStateNotMatchError,
  StateNotDeclaredError,
  ValidationFailedError,
  VersionConflictError,
} from '../errors/order-fsm.errors.js';
import type { Caller } from '../model/event.js';
import { workOutboxMessage } from '../model/messages.js';
import type { TransitionOutcome } from '../model/outcome.js';
import { ORDER_FSM_OPTIONS, ORDER_STORE } from '../order-fsm.constants.js';
import { migratesOnward, type ResolvedOrderFsmOptions, servedMachineOf } from '../order-fsm.options.js';
import { type DeadLetter, type DeadLetterStatus, isOpsStore, type ListedOrder, type OpsStore, type OrderHistory } from '../ports/ops-store.js';
import type { OrderStore, TimerWrite } from '../ports/order-store.js';
import { type FleetCounts, FleetCountsCache } from './fleet-counts.js';
import { OPS_OPTIONS, type ResolvedOpsOptions } from './ops.options.js';

/** Which orders: every field optional, all of them must hold. */
export interface OrderFilter {
  readonly state?: string;
  readonly bizCode?: string;
  readonly sceneId?: string;
  readonly updatedBefore?: Date;
  readonly paused?: boolean;
  readonly orderIds?: readonly string[];
  /** The version of the machine the orders follow. */
  readonly machineVersion?: number;
}

export interface OrderKeyset {
  readonly updatedAt: Date;
  readonly orderId: string;
}

export interface Page<T, K> {
  readonly items: readonly T[];
  /** Where the next page starts; undefined on the last page. */
  readonly next?: K;
}

/** One order's page: the order, everything stored about it, and its automatic work. */
export interface OrderDetail {
  readonly order: ListedOrder;
  readonly history: OrderHistory;
  /** The automatic work of its state for its bizCode@sceneId, and when it is due; null when it has none. */
  readonly automaticWork: { readonly event: string; readonly dueAt: Date | null } | null;
}

/** Which dead letters a bulk redrive takes: open ones only, all filters must hold. */
export interface DeadLetterFilter {
  readonly ids?: readonly number[];
  readonly orderIds?: readonly string[];
  readonly event?: string;
}

/** Why an order is stuck: its automatic work overdue, dead-lettered, held by a pause, or its messages not leaving. */
export interface StuckReason {
  readonly kind: 'automatic-work-overdue' | 'dead-lettered' | 'paused' | 'unpublished-messages';
  readonly since: Date;
  readonly detail: string;
}

export type BulkAction = 'force' | 'pause' | 'resume' | 'redrive' | 'migrate';

/** What a bulk action would do (or did) to one order. */
export interface BulkItem {
  readonly orderId: string;
  readonly version: number;
  readonly state: string;
  readonly paused: boolean;
  /** For a migration: the version of the machine the order follows. */
  readonly machineVersion?: number;
  /** For a redrive: the dead letter. */
  readonly deadLetterId?: number;
  /** For a migration: its steps, one per version (those it would take on a dry run, those it took after a run). */
  readonly steps?: readonly MigrationStep[];
  /** What would change, in words (`force CREATED -> CANCELLED`); null when nothing would. */
  readonly change: string | null;
  /** Why nothing would change. */
  readonly skip?: string;
  /** After a run that was not a dry run: what happened. */
  /** `replayed`: a bulk force run again with its requestId, which this order's move had applied already. */
  readonly outcome?: 'applied' | 'replayed' | 'skipped' | 'failed';
  readonly error?: { readonly code: string; readonly message: string };
  readonly after?: { readonly state: string; readonly version: number; readonly paused: boolean; readonly machineVersion?: number };
}

export interface BulkResult {
  readonly action: BulkAction;
  readonly dryRun: boolean;
  /** More matched than the limit: run again (with the same filter) for the rest. */
  readonly truncated: boolean;
  readonly items: readonly BulkItem[];
  readonly summary: {
    readonly matched: number;
    readonly changes: number;
    readonly applied: number;
    /** A bulk force's: moves this request had applied already (the same call run again). */
    readonly replayed?: number;
    readonly skipped: number;
    readonly failed: number;
  };
}

export interface RedriveResult {
  /**
   * applied: the work moved the order now; replayed: it had been applied already; moved-on: the
   * order is elsewhere, nothing left to do (the letter is closed in all three); failed: the work ran
   * and failed again (`error`), and the letter stays dead with what it found.
   */
  readonly outcome: 'applied' | 'replayed' | 'moved-on' | 'failed';
  readonly detail: string;
  readonly deadLetter: DeadLetter;
  readonly transition?: TransitionOutcome;
  readonly error?: { readonly code: string; readonly message: string };
}

/** How many times an act that lost a race with a transition reads the order again before it answers VERSION_CONFLICT. */
const ATTEMPTS = 3;
/** Distinct actor labels metrics keep when the service names none. */
const MAX_ACTOR_LABELS = 100;
/** How much of an order's history the detail answers: the latest of each list. */
const HISTORY_LIMIT = 500;

const codeOf = (error: unknown): string => (error instanceof OrderFsmError ? error.code : 'INTERNAL_ERROR');
const messageOf = (error: unknown): string => (error instanceof OrderFsmError ? error.message : 'an unexpected error; the log has it');

/**
 * The operator's side of order-fsm, without HTTP: reads over indexes, and acts that go through the
 * engine (force, events, redrives) or the store's fenced writes (pause, resume, discard), each
 * audited with its operator and reason. OrderFsmOpsController answers it over HTTP.
 */
@Injectable()
export class OrderFsmOps {
  private readonly logger = new Logger(OrderFsmOps.name);
  private readonly store: OrderStore & OpsStore;
  private readonly fleet: FleetCountsCache;
  private readonly actorLabels = new Set<string>();

  constructor(
    private readonly engine: OrderFsmEngine,
    @Inject(ORDER_STORE) store: OrderStore,
    @Inject(ORDER_FSM_OPTIONS) private readonly fsm: ResolvedOrderFsmOptions,
    @Inject(OPS_OPTIONS) private readonly options: ResolvedOpsOptions,
    private readonly signal: CommitSignal,
  ) {
    if (!isOpsStore(store)) {
      throw new Error('order-fsm ops: the OrderStore does not implement OpsStore (listOrders, pauseOrder, ...); MysqlOrderStore, PostgresOrderStore and SqliteOrderStore do');
    }
    this.store = store;
    this.fleet = new FleetCountsCache(store, fsm.machine, options.counts);
  }

  /** Every state the machine declares an order can be in. */
  get states(): readonly string[] {
    const { machine } = this.fsm;
    return machine.stateNames.filter((state) => state !== machine.initial);
  }

  // --- reading ---------------------------------------------------------------------------------

  async listOrders(filter: OrderFilter, order: 'asc' | 'desc', limit: number, after?: OrderKeyset): Promise<Page<ListedOrder, OrderKeyset>> {
    const rows = await this.store.listOrders({ ...filter, order, after, limit: limit + 1 });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, ...(rows.length > limit && last && { next: { updatedAt: last.updatedAt!, orderId: last.orderId } }) };
  }

  async orderDetail(orderId: string): Promise<OrderDetail> {
    const [order, history] = await Promise.all([this.load(orderId), this.store.orderHistory(orderId, HISTORY_LIMIT)]);
    const auto = servedMachineOf(this.fsm, order)?.automaticWork(order.state, order.bizCode, order.sceneId);
    return { order, history, automaticWork: auto ? { event: auto.event, dueAt: order.autoDueAt } : null };
  }

  counts(filter: { bizCode?: string; sceneId?: string }): Promise<FleetCounts> {
    return this.fleet.counts(filter);
  }

  async deadLetters(query: { status?: DeadLetterStatus; orderId?: string; event?: string }, limit: number, beforeId?: number): Promise<Page<DeadLetter, number>> {
    const rows = await this.store.listDeadLetters({
      status: query.status,
      event: query.event,
      ...(query.orderId !== undefined && { orderIds: [query.orderId] }),
      beforeId,
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    return { items, ...(rows.length > limit && { next: items.at(-1)!.id }) };
  }

  /**
   * Orders that need a person: automatic work past its deadline (the sweeper would have queued it
   * again: lost, failing, dead-lettered or held by a pause), or messages waiting unpublished longer
   * than `unpublishedAfterMs` (the relay cannot publish). Each with why, the longest waiting first.
   */
  async stuck(limit: number, unpublishedAfterMs = this.options.unpublishedAfterMs, now = new Date()): Promise<Array<{ order: ListedOrder; reasons: StuckReason[] }>> {
    const [overdue, unpublished] = await Promise.all([
      this.store.findOverdue(now, limit),
      this.store.findUnpublished(new Date(now.getTime() - unpublishedAfterMs), limit),
    ]);
    const byId = new Map<string, { order: ListedOrder; reasons: StuckReason[] }>();
    for (const order of overdue) {
      const reasons: StuckReason[] = [];
      const event = servedMachineOf(this.fsm, order)?.automaticWork(order.state, order.bizCode, order.sceneId)?.event ?? 'its automatic work';
      if (order.flag) reasons.push({ kind: 'dead-lettered', since: order.flag.at, detail: order.flag.reason });
      if (order.paused) reasons.push({ kind: 'paused', since: order.paused.at, detail: `paused by an operator: ${order.paused.reason}` });
      reasons.push({
        kind: 'automatic-work-overdue',
        since: order.autoDueAt!,
        detail: order.flag || order.paused ? `${event} is due and will not be queued again until a person acts` : `${event} is overdue: the sweeper queues it again`,
      });
      byId.set(order.orderId, { order, reasons });
    }
    const missing = unpublished.filter((backlog) => !byId.has(backlog.orderId)).map((backlog) => backlog.orderId);
    const others = missing.length > 0 ? await this.store.listOrders({ orderIds: missing, order: 'asc', limit: missing.length }) : [];
    for (const order of others) byId.set(order.orderId, { order, reasons: [] });
    for (const backlog of unpublished) {
      byId.get(backlog.orderId)?.reasons.push({
        kind: 'unpublished-messages',
        since: backlog.oldestCreatedAt,
        detail: `${backlog.count} message(s) not published since ${backlog.oldestCreatedAt.toISOString()}: is the relay running, and the broker reachable?`,
      });
    }
    const since = (entry: { reasons: StuckReason[] }) => Math.min(...entry.reasons.map((r) => r.since.getTime()));
    return [...byId.values()].filter((entry) => entry.reasons.length > 0).sort((a, b) => since(a) - since(b)).slice(0, limit);
  }

  // --- acting on one order ---------------------------------------------------------------------

  /** Moves the order to `toState`, skipping processors and checkers (see OrderFsmEngine.force). */
  async force(
    operator: Caller,
    orderId: string,
    input: { toState: string; reason: string; expectedVersion?: number; fenceVersion?: number; requestId?: string; timers?: ReadonlyArray<TimerWrite & { inMs?: number }> },
  ): Promise<TransitionOutcome> {
    this.requireDeclaredState(input.toState, orderId);
    const outcome = await this.engine.force({ orderId, operator, ...input });
    if (!outcome.replayed) this.acted('force', operator);
    return outcome;
  }

  /** Sends a declared event as the operator: its processor and checkers run as for anyone; the machine's sentBy does not apply. */
  async sendEvent(
    operator: Caller,
    orderId: string,
    input: { event: string; reason: string; payload?: Record<string, unknown>; requestId?: string; expectedState?: string; expectedVersion?: number },
  ): Promise<TransitionOutcome> {
    // Any version served: the engine checks the event against the order's own version.
    const machines = [...this.fsm.machines.values()];
    if (!machines.some((machine) => machine.events.has(input.event))) {
      // Unless the order follows a version newer than this instance serves, which may declare it.
      const order = await this.store.load(orderId);
      if (order && (order.machineVersion ?? this.fsm.machine.version) > this.fsm.machine.version) this.engine.machineOf(order);
      const events = [...new Set(machines.flatMap((machine) => [...machine.events]))];
      throw new ValidationFailedError(`the machine declares no event ${input.event}`, { field: 'event', events });
    }
    const outcome = await this.engine.sendEvent({
      eventType: input.event,
      orderId,
      requestId: input.requestId ?? randomUUID(),
      payload: input.payload ?? {},
      orderState: input.expectedState,
      expectedVersion: input.expectedVersion,
      source: 'operator',
      caller: operator,
      operator: { name: operator.name, reason: input.reason, act: 'event' },
    });
    if (!outcome.replayed) this.acted('event', operator);
    return outcome;
  }

  /**
   * Moves the order onto `toVersion` of the machine (default: the current one), one declared
   * migration at a time (see OrderFsmEngine.migrate): each step a transition with source
   * `migration`, audited. With `dryRun`, the steps it would take and the order as it is: nothing written.
   */
  async migrate(operator: Caller, orderId: string, input: { reason: string; toVersion?: number; dryRun?: boolean }): Promise<MigrationOutcome> {
    this.requireServedVersion(input.toVersion);
    const outcome = await this.engine.migrate({ orderId, operator, reason: input.reason, toVersion: input.toVersion, dryRun: input.dryRun });
    // A dry run answers the order as it is: nothing changed.
    if (outcome.dryRun) return { ...outcome, order: await this.load(orderId) };
    if (outcome.steps.length > 0) this.acted('migrate', operator);
    return outcome;
  }

  /** Pauses the order: every event is refused (ORDER_PAUSED) until it is resumed. */
  async pause(operator: Caller, orderId: string, input: { reason: string; expectedVersion?: number }): Promise<ListedOrder> {
    // Nothing is written once the application began to shut down (the engine's own acts refuse it too).
    this.engine.requireOpen();
    for (let attempt = 1; ; attempt++) {
      const order = await this.load(orderId);
      if (order.paused) throw new OrderPausedError(orderId, order.paused);
      this.expectVersion(order, input.expectedVersion);
      const action = { orderId, kind: 'pause', actor: operator.name, reason: input.reason, at: new Date(), detail: { state: order.state, version: order.version } };
      if (await this.store.pauseOrder(order, action)) {
        this.acted('pause', operator);
        return this.load(orderId);
      }
      // A transition committed since it was read: read it again (or let a caller who named a version decide).
      if (attempt >= ATTEMPTS || input.expectedVersion !== undefined) throw new VersionConflictError(orderId, order.version);
    }
  }

  /** Resumes the order: its automatic work queued again, its timers held by the pause due at once. */
  async resume(operator: Caller, orderId: string, input: { reason: string; expectedVersion?: number }): Promise<ListedOrder> {
    // Nothing is written once the application began to shut down (the engine's own acts refuse it too).
    this.engine.requireOpen();
    for (let attempt = 1; ; attempt++) {
      const order = await this.load(orderId);
      if (!order.paused) throw new OrderNotPausedError(orderId);
      this.expectVersion(order, input.expectedVersion);
      const now = new Date();
      // The work of the order's own version. An order of a version not served that a declared
      // migration moves on is resumed and then migrated, which brings the work of the state it lands
      // in; any other is refused (MACHINE_VERSION_NOT_SERVED) and stays paused, rather than resumed
      // without its work.
      const machine = servedMachineOf(this.fsm, order);
      const migrates = !machine && migratesOnward(this.fsm, order);
      const auto = (machine ?? (migrates ? undefined : this.engine.machineOf(order)))?.automaticWork(order.state, order.bizCode, order.sceneId);
      const requeue = {
        // A fresh message id: the work's request id, derived from the order and version, still applies it once.
        messages: auto && this.fsm.outbox ? [workOutboxMessage(order, auto.event, 'resume', `resume-${now.getTime().toString(36)}`)] : [],
        // Due at once when it is to be migrated: should the migration below fail, the sweeper does it.
        autoDueAt: auto ? new Date(now.getTime() + auto.stuckAfterMs) : migrates ? now : null,
      };
      const action = {
        orderId,
        kind: 'resume',
        actor: operator.name,
        reason: input.reason,
        at: now,
        detail: { state: order.state, version: order.version, ...(auto && { requeued: auto.event }) },
      };
      if (await this.store.resumeOrder(order, action, requeue, now)) {
        this.acted('resume', operator);
        // New outbox rows: the relay need not wait for its next round.
        if (requeue.messages.length > 0) this.signal.committed();
        if (migrates) await this.engine.migrateUnserved(orderId).catch((error: unknown) => this.logger.warn(`resumed order ${orderId} is left to the sweeper to migrate: ${(error as Error).message}`));
        return this.load(orderId);
      }
      if (attempt >= ATTEMPTS || input.expectedVersion !== undefined) throw new VersionConflictError(orderId, order.version);
    }
  }

  // --- dead letters ------------------------------------------------------------------------------

  /**
   * Runs a dead letter's work again, as the worker would: the same event, with the same request id
   * (derived from the order and the version it was queued for) and the same fences. It applies at
   * most once however often it is redriven, by however many operators, alongside any redelivery.
   */
  async redrive(operator: Caller, id: number, reason: string): Promise<RedriveResult> {
    // Nothing is written once the application began to shut down (the engine's own acts refuse it too).
    this.engine.requireOpen();
    return this.redriveLetter(operator, await this.loadDeadLetter(id), reason);
  }

  /** Closes a dead letter without running it, with the operator's reason. */
  async discard(operator: Caller, id: number, reason: string): Promise<DeadLetter> {
    // Nothing is written once the application began to shut down (the engine's own acts refuse it too).
    this.engine.requireOpen();
    const letter = await this.loadDeadLetter(id);
    if (letter.status !== 'dead') throw new DeadLetterSettledError(id, letter.status, letter.settledBy);
    const at = new Date();
    const action = { orderId: letter.orderId, kind: 'discard', actor: operator.name, reason, at, detail: { deadLetter: id, event: letter.event, version: letter.version } };
    if (!(await this.store.settleDeadLetter(id, { status: 'discarded', outcome: null, actor: operator.name, reason, at }, action))) {
      const now = await this.loadDeadLetter(id);
      throw new DeadLetterSettledError(id, now.status, now.settledBy);
    }
    this.acted('discard', operator);
    return this.loadDeadLetter(id);
  }

  private async redriveLetter(operator: Caller, letter: DeadLetter, reason: string): Promise<RedriveResult> {
    if (letter.status !== 'dead') throw new DeadLetterSettledError(letter.id, letter.status, letter.settledBy);
    const at = new Date();
    const settle = async (status: DeadLetterStatus, outcome: string, audited: boolean): Promise<boolean> =>
      this.store.settleDeadLetter(
        letter.id,
        { status, outcome, actor: operator.name, reason, at },
        audited ? { orderId: letter.orderId, kind: 'redrive', actor: operator.name, reason, at, detail: { deadLetter: letter.id, outcome } } : null,
      );
    let transition: TransitionOutcome;
    try {
      transition = await this.engine.sendEvent({
        eventType: letter.event,
        orderId: letter.orderId,
        requestId: derivedRequestId('auto', letter.orderId, letter.version),
        orderState: letter.state,
        expectedVersion: letter.version,
        source: 'worker',
        operator: { name: operator.name, reason, act: 'redrive', detail: { deadLetter: letter.id } },
      });
    } catch (error) {
      const code = codeOf(error);
      // What the work said, as the worker records it: operators are trusted with a processor's own words.
      const detail = `${code}: ${(error as Error)?.message ?? String(error)}`;
      const kind = errorKindOf(code);
      if (kind === 'moved-on' || code === 'ORDER_NOT_FOUND') {
        // The order is elsewhere (or gone): the work has nothing left to do, and the letter is closed.
        if (!(await settle('redriven', `nothing to do: ${detail}`, true))) await this.settledMeanwhile(letter.id);
        this.acted('redrive', operator);
        return { outcome: 'moved-on', detail, deadLetter: await this.loadDeadLetter(letter.id) };
      }
      if (kind === 'failed' || kind === 'refused') {
        // It ran and failed again: it stays dead, with what this attempt found, and the attempt is audited.
        if (!(await settle('dead', `failed again: ${detail}`, true))) await this.settledMeanwhile(letter.id);
        return { outcome: 'failed', detail, deadLetter: await this.loadDeadLetter(letter.id), error: { code, message: messageOf(error) } };
      }
      // Paused, busy, a dependency down: it did not run; nothing was written. Answered as the error it is.
      throw error;
    }
    const detail = transition.replayed ? 'replayed: the work had been applied already' : `applied ${transition.fromState} -> ${transition.toState}`;
    // Applied now: its audit row went with the transition. Replayed: this act is audited with the letter.
    const settled = await settle('redriven', detail, transition.replayed === true);
    if (!settled && transition.replayed) await this.settledMeanwhile(letter.id);
    this.acted('redrive', operator);
    return { outcome: transition.replayed ? 'replayed' : 'applied', detail, deadLetter: await this.loadDeadLetter(letter.id), transition };
  }

  private async settledMeanwhile(id: number): Promise<never> {
    const letter = await this.loadDeadLetter(id);
    throw new DeadLetterSettledError(id, letter.status, letter.settledBy);
  }

  // --- bulk --------------------------------------------------------------------------------------

  /**
   * One act over the orders a filter matches (up to `limit`), each its own fenced write at the
   * version this call read, so an order that moved since is left alone and said so. With `dryRun`
   * it answers exactly which orders would change and how, and writes nothing.
   */
  async bulk(
    action: Exclude<BulkAction, 'redrive' | 'migrate'>,
    operator: Caller,
    input: { filter: OrderFilter; reason: string; dryRun: boolean; limit: number; toState?: string; requestId?: string; timers?: ReadonlyArray<TimerWrite & { inMs?: number }> },
  ): Promise<BulkResult> {
    if (action === 'force') this.requireDeclaredState(input.toState!);
    const rows = await this.store.listOrders({ ...input.filter, order: 'asc', limit: input.limit + 1 });
    const orders = rows.slice(0, input.limit);
    const plans = orders.map((order): BulkItem => {
      const base = { orderId: order.orderId, version: order.version, state: order.state, paused: !!order.paused };
      switch (action) {
        case 'force':
          return { ...base, change: `force ${order.state} -> ${input.toState}${order.paused ? ' (stays paused)' : ''}` };
        case 'pause':
          return order.paused ? { ...base, change: null, skip: 'already paused' } : { ...base, change: 'pause' };
        case 'resume': {
          if (!order.paused) return { ...base, change: null, skip: 'not paused' };
          const machine = servedMachineOf(this.fsm, order);
          if (!machine && migratesOnward(this.fsm, order)) return { ...base, change: `resume and migrate from v${order.machineVersion}` };
          if (!machine) return { ...base, change: null, skip: `follows machine version ${order.machineVersion}, which this service does not serve` };
          const auto = machine.automaticWork(order.state, order.bizCode, order.sceneId);
          return { ...base, change: auto ? `resume and queue ${auto.event} again` : 'resume' };
        }
      }
    });
    if (input.dryRun) return this.bulkResult(action, true, rows.length > input.limit, plans);
    const items = await this.applyPlans(action, plans, async (plan) => {
      const expectedVersion = plan.version;
      let after: ListedOrder | TransitionOutcome['order'];
      if (action === 'force') {
        const requestId = input.requestId === undefined ? undefined : derivedRequestId('bulk', input.requestId, plan.orderId);
        // The version listed fences the move without being part of its identity: the same call run
        // again, its orders since moved on, replays each move instead of refusing the request id.
        const outcome = await this.force(operator, plan.orderId, { toState: input.toState!, reason: input.reason, fenceVersion: expectedVersion, requestId, timers: input.timers });
        if (outcome.replayed) return { ...plan, outcome: 'replayed', after: { state: outcome.order.state, version: outcome.order.version, paused: !!outcome.order.paused } };
        after = outcome.order;
      } else if (action === 'pause') {
        after = await this.pause(operator, plan.orderId, { reason: input.reason, expectedVersion });
      } else {
        after = await this.resume(operator, plan.orderId, { reason: input.reason, expectedVersion });
      }
      return { ...plan, outcome: 'applied', after: { state: after.state, version: after.version, paused: !!after.paused } };
    });
    return this.bulkResult(action, false, rows.length > input.limit, items);
  }

  /** Applies each plan that changes something, one order at a time; a failure is that order's outcome, not the batch's. */
  private async applyPlans(action: string, plans: readonly BulkItem[], apply: (plan: BulkItem) => Promise<BulkItem>): Promise<BulkItem[]> {
    const items: BulkItem[] = [];
    for (const plan of plans) {
      if (plan.change === null) {
        items.push({ ...plan, outcome: 'skipped' });
        continue;
      }
      try {
        items.push(await apply(plan));
      } catch (error) {
        if (!(error instanceof OrderFsmError)) this.logger.error(`bulk ${action} of order ${plan.orderId} failed`, error as Error);
        items.push({ ...plan, outcome: 'failed', error: { code: codeOf(error), message: messageOf(error) } });
      }
    }
    return items;
  }

  /**
   * Migrates the orders a filter matches (up to `limit`) onto `toVersion` (default: the current
   * one), each on its own, as migrate() does. With `dryRun` it answers each order's steps and
   * writes nothing. An order already there, paused, in a final state the migration leaves, or on a
   * version no migration starts from is left alone and said so.
   */
  async bulkMigrate(operator: Caller, input: { filter: OrderFilter; reason: string; dryRun: boolean; limit: number; toVersion?: number }): Promise<BulkResult> {
    this.requireServedVersion(input.toVersion);
    const target = input.toVersion ?? this.fsm.machine.version;
    const rows = await this.store.listOrders({ ...input.filter, order: 'asc', limit: input.limit + 1 });
    const plans = rows.slice(0, input.limit).map((order): BulkItem => {
      const machineVersion = order.machineVersion ?? this.fsm.machine.version;
      const base = { orderId: order.orderId, version: order.version, state: order.state, paused: !!order.paused, machineVersion };
      const planned = this.migrationSteps(order.state, machineVersion, target);
      if ('skip' in planned) return { ...base, change: null, skip: planned.skip };
      if (order.paused) return { ...base, change: null, skip: 'the order is paused: its migration would be refused (ORDER_PAUSED); resume it first', steps: planned.steps };
      const last = planned.steps.at(-1)!;
      return { ...base, change: `migrate v${machineVersion} -> v${last.toVersion}: ${order.state} -> ${last.toState}`, steps: planned.steps };
    });
    if (input.dryRun) return this.bulkResult('migrate', true, rows.length > input.limit, plans);
    const items = await this.applyPlans('migrate', plans, async (plan) => {
      // The order may have moved since it was listed: the migration maps the state it is in now, and answers the steps it took.
      const outcome = await this.migrate(operator, plan.orderId, { reason: input.reason, toVersion: target });
      const after = outcome.order;
      return {
        ...plan,
        outcome: outcome.steps.length > 0 ? 'applied' : 'skipped',
        steps: outcome.steps,
        after: { state: after.state, version: after.version, paused: !!after.paused, machineVersion: after.machineVersion ?? target },
      };
    });
    return this.bulkResult('migrate', false, rows.length > input.limit, items);
  }

  /** The steps that take an order in `state` from `version` to `target`, as the engine would take them; or why there are none. */
  private migrationSteps(state: string, version: number, target: number): { steps: MigrationStep[] } | { skip: string } {
    if (version >= target) return { skip: `already on v${version}` };
    const steps: MigrationStep[] = [];
    for (let at = version, now = state; at < target; ) {
      const migration = this.fsm.migrations.get(at);
      if (!migration) return { skip: `no migration is declared from v${at} (MIGRATION_NOT_DECLARED)` };
      const toState = migration.stateFor(now);
      if (toState === undefined) {
        if (steps.length > 0) break;
        return { skip: `${now} is final and ${migration.name} leaves its orders on v${at}` };
      }
      steps.push({ fromVersion: at, toVersion: migration.to.version, fromState: now, toState });
      at = migration.to.version;
      now = toState;
    }
    return { steps };
  }

  /** Redrives the open dead letters a filter matches (up to `limit`); with `dryRun`, what each would do. */
  async bulkRedrive(operator: Caller, input: { filter: DeadLetterFilter; reason: string; dryRun: boolean; limit: number }): Promise<BulkResult> {
    const rows = await this.store.listDeadLetters({ ...input.filter, status: 'dead', limit: input.limit + 1 });
    // Oldest first, as they died.
    const letters = rows.slice(0, input.limit).reverse();
    const orderIds = [...new Set(letters.map((l) => l.orderId))];
    const orders = new Map((orderIds.length > 0 ? await this.store.listOrders({ orderIds, order: 'asc', limit: orderIds.length }) : []).map((o) => [o.orderId, o]));
    const plans = letters.map((letter): BulkItem => {
      const order = orders.get(letter.orderId);
      const base = { orderId: letter.orderId, deadLetterId: letter.id, version: order?.version ?? letter.version, state: order?.state ?? letter.state, paused: !!order?.paused };
      if (!order) return { ...base, change: `close with nothing to do: order ${letter.orderId} does not exist` };
      if (order.paused) return { ...base, change: null, skip: 'the order is paused: its work would be refused (ORDER_PAUSED); resume it first' };
      if (order.version !== letter.version || order.state !== letter.state) {
        return { ...base, change: `close with nothing to do: the order moved on to ${order.state} (version ${order.version}) since ${letter.event} was queued` };
      }
      return { ...base, change: `send ${letter.event} to the order at ${letter.state} version ${letter.version}, as the worker would` };
    });
    if (input.dryRun) return this.bulkResult('redrive', true, rows.length > input.limit, plans);
    const items: BulkItem[] = [];
    for (const [index, plan] of plans.entries()) {
      if (plan.change === null) {
        items.push({ ...plan, outcome: 'skipped' });
        continue;
      }
      try {
        const result = await this.redriveLetter(operator, letters[index]!, input.reason);
        const order = result.transition?.order ?? (await this.store.load(plan.orderId));
        items.push({
          ...plan,
          outcome: result.outcome === 'failed' ? 'failed' : 'applied',
          ...(result.error && { error: result.error }),
          ...(order && { after: { state: order.state, version: order.version, paused: !!order.paused } }),
        });
      } catch (error) {
        items.push({ ...plan, outcome: 'failed', error: { code: codeOf(error), message: messageOf(error) } });
      }
    }
    return this.bulkResult('redrive', false, rows.length > input.limit, items);
  }

  private bulkResult(action: BulkAction, dryRun: boolean, truncated: boolean, items: BulkItem[]): BulkResult {
    const count = (outcome: BulkItem['outcome']) => items.filter((item) => item.outcome === outcome).length;
    return {
      action,
      dryRun,
      truncated,
      items,
      summary: {
        matched: items.length,
        changes: items.filter((item) => item.change !== null).length,
        applied: count('applied'),
        ...(action === 'force' && { replayed: count('replayed') }),
        skipped: count('skipped'),
        failed: count('failed'),
      },
    };
  }

  // --- helpers -----------------------------------------------------------------------------------

  private async load(orderId: string): Promise<ListedOrder> {
    const [order] = await this.store.listOrders({ orderIds: [orderId], order: 'asc', limit: 1 });
    if (!order) throw new OrderNotFoundError(orderId);
    return order;
  }

  private async loadDeadLetter(id: number): Promise<DeadLetter> {
    const [letter] = await this.store.listDeadLetters({ ids: [id], limit: 1 });
    if (!letter) throw new OrderFsmError('NOT_FOUND', `no dead letter has id ${id}`, { id });
    return letter;
  }

  private expectVersion(order: ListedOrder, expected: number | undefined): void {
    if (expected !== undefined && expected !== order.version) throw OrderStateNotMatchError.version(order.orderId, expected, order.version);
  }

  private requireServedVersion(version: number | undefined): void {
    if (version !== undefined && !this.fsm.machines.has(version)) {
      const served = [...this.fsm.machines.keys()].sort((a, b) => a - b);
      throw new ValidationFailedError(`toVersion ${version} is not a version of the machine this service serves (${served.join(', ')})`, { field: 'toVersion', served });
    }
  }

  private requireDeclaredState(state: string, orderId?: string): void {
    if (!this.states.includes(state)) throw new StateNotDeclaredError(state, this.states, orderId);
  }

  /** Counts an act that changed something, its actor bounded: the names the service gave, or the first ones seen. */
  private acted(kind: string, operator: Caller): void {
    this.fleet.invalidate();
    const record = this.fsm.metrics.operatorAction;
    if (!record) return;
    const { actors } = this.options;
    let actor = operator.name;
    if (actors) actor = actors.has(actor) ? actor : 'other';
    else if (!this.actorLabels.has(actor)) {
      if (this.actorLabels.size < MAX_ACTOR_LABELS) this.actorLabels.add(actor);
      else actor = 'other';
    }
    record.call(this.fsm.metrics, kind, actor);
  }
}
