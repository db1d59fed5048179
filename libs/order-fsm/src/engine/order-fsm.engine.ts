import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import {
  AmbiguousProcessorError,
  DependencyUnavailableError,
  EventNotAllowedError,
  IdempotencyKeyReusedError,
  MachineVersionNotServedError,
  MachineVersionNotYetServedError,
  MigrationNotDeclaredError,
  OrderBusyError,
  OrderFsmError,
  OrderNotFoundError,
  OrderPausedError,
  OrderStateNotMatchError,
  ProcessorNotFoundError,
  StateNotDeclaredError,
  TransitionNotDeclaredError,
  ValidationFailedError,
} from '../errors/order-fsm.errors.js';
import type { OrderLock, OrderLockHandle } from '../ports/order-lock.js';
import type { OrderFsmTracing, TraceCarrier, TraceSpan } from '../ports/tracing.js';
import type { LockOutcome } from '../ports/metrics.js';
import { MetricLabels } from './metric-labels.js';
import { MAX_ID_LENGTH, MAX_PAYLOAD_DEPTH, ORDER_FSM_OPTIONS, ORDER_LOCK, ORDER_STORE } from '../order-fsm.constants.js';
import { type ResolvedOrderFsmOptions, servedMachineOf } from '../order-fsm.options.js';
import type { CommittedTransition, ConsumedRequest, OrderStore, SaveOutcome, TimerWrite, TransitionLogEntry, TransitionWrite } from '../ports/order-store.js';
import { ProcessorRegistry } from '../registry/processor-registry.js';
import type { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { CheckerExecutor } from '../processor/checker-executor.js';
import type { FsmOrder } from '../model/order.js';
import {
  type Caller,
  FORCE_EVENT,
  HELD_SOURCE,
  MIGRATE_EVENT,
  MIGRATION_SOURCE,
  OPERATOR_SOURCE,
  type OrderStateEvent,
  SYSTEM_SENDER,
  SYSTEM_SOURCES,
} from '../model/event.js';
import type { MachineDefinition, ResolvedLatePolicy } from '../model/machine.js';
import type { MachineMigration } from '../model/migration.js';
import { lateOutboxMessage, type OutboxMessage } from '../model/messages.js';
import { isWellFormedText, payloadProblem, payloadProblemMessage } from '../model/text.js';
import { failureOf, ProcessorRun } from '../processor/processor-template.js';
import { ServiceResult } from '../model/service-result.js';
import type { EntityManager } from 'typeorm';
import { CommitSignal } from './commit-signal.js';
import { TransitionWriter } from './transition-writer.js';
import { requestHash } from './request-hash.js';
import { StateContext } from '../processor/state-context.js';
import { nameOrder, nameProcessor, type TransitionLogFields, withTransitionLogFields } from './transition-log-context.js';
import type { CreateOrderInput, LateOutcome, TransitionOutcome } from '../model/outcome.js';

function requireId(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new ValidationFailedError(`${field} must be a string of 1 to ${MAX_ID_LENGTH} characters`, { field });
  }
  if (!isWellFormedText(value)) throw new ValidationFailedError(`${field} must be well-formed Unicode (it holds a lone UTF-16 surrogate)`, { field });
}

/** The longest source an event may name: what the log keeps (a label column). */
export const MAX_SOURCE_LENGTH = 16;

/** The longest reason an operator may give: what the log and the audit keep. */
export const MAX_REASON_LENGTH = 512;

/** ORDER_STATE_NOT_MATCH unless the order is at the version the event names (expectedVersion) and the one its sender read (fenceVersion). */
function requireFences(event: OrderStateEvent, order: FsmOrder): void {
  for (const version of [event.expectedVersion, event.fenceVersion]) {
    if (version !== undefined && version !== order.version) throw OrderStateNotMatchError.version(order.orderId, version, order.version);
  }
}

function requireReason(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > MAX_REASON_LENGTH) {
    throw new ValidationFailedError(`${field} must be a non-blank string of at most ${MAX_REASON_LENGTH} characters`, { field });
  }
  if (!isWellFormedText(value)) throw new ValidationFailedError(`${field} must be well-formed Unicode (it holds a lone UTF-16 surrogate)`, { field });
}

/** An operator's forced move: to any declared state, skipping processors and checkers. */
export interface ForceInput {
  readonly orderId: string;
  /** Any state the machine declares but its virtual initial one. */
  readonly toState: string;
  /** Why: kept on the transition's log row, in its status message and in the operators' audit. */
  readonly reason: string;
  /** The operator: the transition's caller and actor. */
  readonly operator: Caller;
  /** Default: a new one. The same id again (for the same operator) answers the first answer. */
  readonly requestId?: string;
  /** Applies only if the order is still at this version. */
  readonly expectedVersion?: number;
  /** Applies only if the order is still at this version, which is not part of the request's identity (OrderStateEvent.fenceVersion). */
  readonly fenceVersion?: number;
  /**
   * Timers of the new state to schedule. On a normal transition its processor schedules them; a
   * forced move runs none, so it schedules those named here (each an event the new state takes).
   * `inMs`, when the operator gave a delay rather than a time: the request's identity keeps the
   * delay, so the same call sent again later is the same request (the time it gives is not).
   */
  readonly timers?: ReadonlyArray<TimerWrite & { readonly inMs?: number }>;
}

interface ForcedMove {
  readonly toState: string;
  readonly timers: readonly TimerWrite[];
}

/**
 * Whose request ids a request's id is among: the engine's own events share one namespace that no
 * caller can have (a caller's name never starts with `@`), every caller has its own, and in-process
 * code that names no caller has the empty one.
 */
export const SYSTEM_CALLER_KEY = '@system';
const callerKeyOf = (event: OrderStateEvent): string =>
  SYSTEM_SOURCES.has(event.source ?? 'api') || event.source === HELD_SOURCE || event.source === MIGRATION_SOURCE ? SYSTEM_CALLER_KEY : (event.caller?.name ?? '');

/** The sources a machine's late policies apply to: callers. The engine's own events and operators' acts are refused as they are. */
const isLatePolicySource = (source: string): boolean => !SYSTEM_SOURCES.has(source) && source !== OPERATOR_SOURCE && source !== HELD_SOURCE && source !== MIGRATION_SOURCE;

/** An operator's migration of an order: one step per version up to `toVersion` (default: the current). */
export interface MigrateInput {
  readonly orderId: string;
  readonly operator: Caller;
  readonly reason: string;
  /** Default: the current version. */
  readonly toVersion?: number;
  /** Say what would happen, and change nothing. */
  readonly dryRun?: boolean;
}

/** One version step of a migration: where the order was and where it goes. */
export interface MigrationStep {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly fromState: string;
  readonly toState: string;
}

/** What migrate() answers: the steps taken (or that would be, on a dry run) and the order after them. */
export interface MigrationOutcome {
  readonly orderId: string;
  readonly steps: readonly MigrationStep[];
  readonly dryRun: boolean;
  readonly order: FsmOrder;
}

/** The engine's span names (docs/OPERATIONS.md, Tracing). */
export const SPANS = { sendEvent: 'order-fsm.send_event', lockWait: 'order-fsm.lock_wait', commit: 'order-fsm.commit' } as const;
const NO_ATTRIBUTES = Object.freeze({});

/** Failures after which a request may nevertheless have been applied by a concurrent twin of it. */
const RECHECK_AFTER = new Set(['DUPLICATE_REQUEST', 'VERSION_CONFLICT', 'ORDER_STATE_NOT_MATCH', 'CHECK_FAILED']);

/** A request id derived from a fixed origin (the automatic work of one version, a timer): 64 characters at most. */
export function derivedRequestId(prefix: string, ...parts: (string | number)[]): string {
  return `${prefix}:${createHash('sha256').update(parts.join('\u0000')).digest('base64url')}`;
}

/**
 * The entry point: sendEvent() locks the order, loads it, answers a replay if the request id was
 * already consumed, picks the one processor that accepts the event, runs its template and commits
 * the transition (with its status messages and timers) fenced by the order's version.
 */
@Injectable()
export class OrderFsmEngine implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderFsmEngine.name);
  private readonly checkers = new CheckerExecutor(this.logger);
  private metricLabels?: MetricLabels;
  private inFlight = 0;
  private closing = false;
  private drained?: () => void;
  /** Checked once: without it, no span is made and no trace context is stored. */
  private readonly tracing: OrderFsmTracing | undefined;

  constructor(
    private readonly registry: ProcessorRegistry,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
    @Inject(ORDER_LOCK) private readonly lock: OrderLock,
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
    private readonly signal: CommitSignal,
  ) {
    this.tracing = options.tracing;
  }

  /** Creates an order: the create event applied to a new order in the initial state. */
  async createOrder<T = unknown, P = unknown>(input: CreateOrderInput<P>): Promise<TransitionOutcome<T>> {
    requireId('bizCode', input.bizCode);
    requireId('sceneId', input.sceneId);
    const orderId = input.orderId ?? randomUUID();
    const order: FsmOrder = {
      orderId,
      state: this.options.initialState,
      version: 0,
      bizCode: input.bizCode,
      sceneId: input.sceneId,
      data: {},
      // New orders follow the current machine.
      machineVersion: this.options.machine.version,
    };
    const event: OrderStateEvent<P> = {
      eventType: input.event ?? this.options.createEvent,
      orderId,
      requestId: input.requestId,
      newCreate: true,
      payload: input.payload,
      source: input.source,
      caller: input.caller,
    };
    return this.sendEvent<T>(event, order);
  }

  /**
   * Applies an event, once per request id: the same request again answers what it answered the
   * first time (`replayed: true`); the same id with a different request is IDEMPOTENCY_KEY_REUSED.
   * Without `fsmOrder` the order is loaded by id under its lock; with one (a new order at version 0,
   * or an order the caller already holds) that order is used as read.
   */
  sendEvent<T = unknown>(event: OrderStateEvent, fsmOrder?: FsmOrder): Promise<TransitionOutcome<T>> {
    const fields = {
      orderId: String(event?.orderId),
      event: String(event?.eventType),
      requestId: String(event?.requestId),
      source: event?.source ?? 'api',
      ...(event?.caller && { caller: event.caller.name }),
    };
    return withTransitionLogFields(fields, () => this.handleTraced<T>(fields, event, fsmOrder));
  }

  /**
   * An operator's forced move: the order goes to `toState`, any state the machine declares, with no
   * processor or checker run, in one fenced transaction through the same writer and commit as any
   * transition: a log row with source `operator`, the operator as actor and the reason, the status
   * message, the new state's automatic work, the timers named, and the audit row. It applies to a
   * paused order too, which stays paused. Once per request id, like any event.
   */
  async force<T = unknown>(input: ForceInput): Promise<TransitionOutcome<T>> {
    requireId('orderId', input?.orderId);
    requireId('toState', input.toState);
    requireReason('reason', input.reason);
    if (input.requestId !== undefined) requireId('requestId', input.requestId);
    const { machine } = this.options;
    if (!machine.hasState(input.toState) || input.toState === machine.initial) {
      if (![...this.options.machines.values()].some((m) => m.hasState(input.toState) && input.toState !== m.initial)) {
        throw new StateNotDeclaredError(input.toState, machine.stateNames.filter((state) => state !== machine.initial), input.orderId);
      }
    }
    const timers = input.timers ?? [];
    for (const [index, timer] of timers.entries()) {
      if (typeof timer?.event !== 'string' || ![...this.options.machines.values()].some((m) => m.hasEvent(input.toState, timer.event))) {
        throw new ValidationFailedError(`timers[${index}]: ${input.toState} takes no event ${String(timer?.event)}`, { field: `timers[${index}].event` });
      }
      if (!(timer.fireAt instanceof Date) || Number.isNaN(timer.fireAt.getTime())) {
        throw new ValidationFailedError(`timers[${index}]: fireAt must be a time`, { field: `timers[${index}].fireAt` });
      }
    }
    const event: OrderStateEvent = {
      eventType: FORCE_EVENT,
      orderId: input.orderId,
      requestId: input.requestId ?? randomUUID(),
      expectedVersion: input.expectedVersion,
      fenceVersion: input.fenceVersion,
      source: OPERATOR_SOURCE,
      caller: input.operator,
      payload: { toState: input.toState, timers: timers.map((t) => (t.inMs !== undefined ? { event: t.event, inMs: t.inMs } : { event: t.event, fireAt: t.fireAt.toISOString() })) },
      operator: { name: input.operator?.name, reason: input.reason, act: 'force' },
    };
    const fields = { orderId: input.orderId, event: FORCE_EVENT, requestId: event.requestId, source: OPERATOR_SOURCE, caller: input.operator?.name };
    return withTransitionLogFields(fields, () => this.handleTraced<T>(fields, event, undefined, { toState: input.toState, timers }));
  }

  /** In a span of its own when tracing is on: the caller's span (an HTTP request's, a delivery's) its parent. */
  private handleTraced<T>(fields: TransitionLogFields, event: OrderStateEvent, fsmOrder?: FsmOrder, forced?: ForcedMove): Promise<TransitionOutcome<T>> {
    if (!this.tracing) return this.handleMeasured<T>(event, fsmOrder, forced);
    const attributes = {
      'order_fsm.order_id': fields.orderId,
      'order_fsm.event': fields.event,
      'order_fsm.request_id': fields.requestId,
      'order_fsm.source': fields.source,
      ...(fields.caller !== undefined && { 'order_fsm.caller': fields.caller }),
    };
    return this.tracing.inSpan(SPANS.sendEvent, 'internal', attributes, async (span) => {
      // Every log line about the event names its trace.
      fields.trace_id = span.traceId;
      fields.span_id = span.spanId;
      try {
        return await this.handleMeasured<T>(event, fsmOrder, forced, span);
      } finally {
        if (fields.processor) span.setAttribute('order_fsm.processor', fields.processor);
      }
    });
  }

  /** The message with the trace of the transaction that writes it, when there is one. */
  private traced(message: OutboxMessage, traceContext: TraceCarrier | undefined): OutboxMessage {
    return traceContext ? { ...message, traceContext } : message;
  }

  /** A store's commit, in a span of its own when tracing is on. */
  private commit<O extends SaveOutcome>(write: TransitionWrite<O>): Promise<CommittedTransition<O>> {
    return this.tracing ? this.tracing.inSpan(SPANS.commit, 'internal', NO_ATTRIBUTES, () => this.store.commit(write)) : this.store.commit(write);
  }

  private async handleMeasured<T>(event: OrderStateEvent, fsmOrder?: FsmOrder, forced?: ForcedMove, span?: TraceSpan): Promise<TransitionOutcome<T>> {
    const started = performance.now();
    const timing = { lockWaitMs: 0 };
    let outcome = 'INTERNAL_ERROR';
    this.inFlight++;
    try {
      this.requireOpen();
      const result = await this.handle<T>(event, fsmOrder, timing, forced);
      outcome = result.replayed ? 'replayed' : (result.late?.status ?? 'applied');
      if (span) {
        span.setAttribute('order_fsm.outcome', outcome);
        span.setAttribute('order_fsm.from_state', result.fromState);
        span.setAttribute('order_fsm.to_state', result.toState);
        span.setAttribute('order_fsm.version', result.version);
      }
      const durationMs = Math.round(performance.now() - started);
      if (result.late && !result.replayed) this.logger.log(`${outcome} late ${result.event} in ${result.fromState} v${result.version} (${result.late.policy}, ${durationMs} ms)`);
      else this.logger.log(`${outcome} ${result.event} ${result.fromState} -> ${result.toState} v${result.version} (${durationMs} ms)`);
      return result;
    } catch (error) {
      if (error instanceof OrderFsmError) outcome = error.code;
      span?.setAttribute('order_fsm.outcome', outcome);
      // Refusals are answers, not faults: logged at debug, with their code. Faults are logged where they are answered.
      if (error instanceof OrderFsmError && error.httpStatus < 500) {
        this.logger.debug(`refused ${String(event?.eventType)}: ${error.code} ${error.message}`);
        this.options.metrics.refusal?.(this.labels.refusal(error, event?.eventType, event?.source));
      }
      throw error;
    } finally {
      this.options.metrics.event(this.labels.event(event?.eventType), outcome, performance.now() - started, timing.lockWaitMs);
      if (--this.inFlight === 0) this.drained?.();
    }
  }

  /**
   * Shutdown: new events are refused (DEPENDENCY_UNAVAILABLE, a 503 to retry elsewhere) and the
   * events in flight finish, for up to `shutdownTimeoutMs`, before the connections they need close.
   */
  /**
   * True once the application began to shut down: new events, forced moves and migrations are
   * refused with DEPENDENCY_UNAVAILABLE (retry on another instance), as a host should refuse any
   * other write it would make meanwhile.
   */
  get isClosing(): boolean {
    return this.closing;
  }

  /** DEPENDENCY_UNAVAILABLE once the application began to shut down. */
  requireOpen(): void {
    if (this.closing) throw new DependencyUnavailableError('order-fsm (this instance is shutting down; retry on another)');
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    if (this.inFlight === 0) return;
    const { shutdownTimeoutMs } = this.options;
    this.logger.log(`waiting for ${this.inFlight} event(s) in flight (up to ${shutdownTimeoutMs} ms)`);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      new Promise<boolean>((resolve) => (this.drained = () => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!finished) this.logger.warn(`${this.inFlight} event(s) still in flight after ${shutdownTimeoutMs} ms; closing anyway (their transactions roll back)`);
  }

  private async handle<T>(event: OrderStateEvent, fsmOrder: FsmOrder | undefined, timing: { lockWaitMs: number }, forced?: ForcedMove): Promise<TransitionOutcome<T>> {
    if (!this.registry.isSealed) throw new Error('order-fsm: sendEvent() called before the application finished bootstrap');
    this.validate(event, fsmOrder);
    try {
      this.authorize(event);
    } catch (error) {
      // No machine this instance serves lets the sender send it; an order of a newer version than
      // it serves (a rolling deploy under way) may. Its version answers, read without the lock.
      if (error instanceof EventNotAllowedError && fsmOrder?.version !== 0) await this.refuseNewer(event.orderId);
      throw error;
    }
    const hash = requestHash(event, fsmOrder);
    const callerKey = callerKeyOf(event);
    const creating = fsmOrder?.version === 0;
    // A new order has no lock of its own: its request id serialises identical creates instead.
    const lockStarted = performance.now();
    let handle: OrderLockHandle;
    let lockOutcome: LockOutcome = 'unavailable';
    try {
      const lockKey = creating ? `request#${callerKey}#${event.requestId}` : event.orderId;
      handle = await (this.tracing ? this.tracing.inSpan(SPANS.lockWait, 'internal', NO_ATTRIBUTES, () => this.lock.acquire(lockKey)) : this.lock.acquire(lockKey));
      lockOutcome = handle.grant === 'handed_off' || handle.grant === 'none' ? handle.grant : 'acquired';
    } catch (error) {
      if (error instanceof OrderBusyError) lockOutcome = 'busy';
      // A holder that committed this very request and died before answering keeps its lock until it
      // expires: the retry of an applied request is answered its replay rather than ORDER_BUSY.
      if (error instanceof OrderBusyError) {
        const consumed = await this.store.findConsumedRequest(event.requestId, callerKey).catch(() => null);
        if (consumed) return this.replay<T>(consumed, hash, event.requestId);
      }
      throw error;
    } finally {
      timing.lockWaitMs = performance.now() - lockStarted;
      this.options.metrics.lock?.(lockOutcome, timing.lockWaitMs);
    }
    try {
      let order: FsmOrder | null;
      let consumed: ConsumedRequest | null;
      if (fsmOrder) {
        consumed = await this.store.findConsumedRequest(event.requestId, callerKey);
        order = structuredClone(fsmOrder);
      } else {
        ({ order, consumed } = await this.store.loadForEvent(event.orderId, event.requestId, callerKey));
      }
      if (consumed) return this.replay<T>(consumed, hash, event.requestId);
      if (!order) throw new OrderNotFoundError(event.orderId);
      // Paused by an operator: no event applies, from any source, until it is resumed; a forced move does.
      if (order.paused && !forced) throw new OrderPausedError(order.orderId, order.paused);
      // An order of an earlier version moves on first where its migration is lazy, or where its own
      // version is no longer served: each step its own fenced transition, under this lock.
      if (!forced && !creating) order = await this.migrateOnEvent(order);
      try {
        return forced ? await this.applyForced<T>(event, order, hash, callerKey, forced) : await this.apply<T>(event, order, hash, callerKey);
      } catch (error) {
        if (error instanceof OrderFsmError && RECHECK_AFTER.has(error.code)) {
          const late = await this.store.findConsumedRequest(event.requestId, callerKey).catch(() => null);
          if (late) return this.replay<T>(late, hash, event.requestId);
        }
        throw error;
      }
    } finally {
      await handle.release();
    }
  }

  /** The bounded metric labels, kept once the processors are registered (they name bizCodes and sceneIds). */
  private get labels(): MetricLabels {
    if (this.metricLabels) return this.metricLabels;
    const labels = new MetricLabels(this.options, this.registry.namedDimensions());
    if (this.registry.isSealed) this.metricLabels = labels;
    return labels;
  }

  /** Counts a committed transition, each label bounded: by the machine, the known dimensions and sources. */
  private countTransition(order: FsmOrder, toState: string, event: OrderStateEvent): void {
    this.options.metrics.transition?.(this.labels.transition(order, toState, event.eventType, event.source));
  }

  /** The order as stored now, or null if there is none; no lock taken. A malformed id rejects with VALIDATION_FAILED. */
  async findOrder(orderId: string): Promise<FsmOrder | null> {
    requireId('orderId', orderId);
    return this.store.load(orderId);
  }

  /** The order's history: every committed transition, oldest first ([] for an unknown order). */
  async listTransitions(orderId: string): Promise<TransitionLogEntry[]> {
    requireId('orderId', orderId);
    return this.store.listTransitions(orderId);
  }

  private validate(event: OrderStateEvent, fsmOrder?: FsmOrder): void {
    requireId('eventType', event?.eventType);
    requireId('orderId', event.orderId);
    requireId('requestId', event.requestId);
    if (event.orderState !== undefined) requireId('orderState', event.orderState);
    if (event.source !== undefined && (typeof event.source !== 'string' || event.source.length === 0 || event.source.length > MAX_SOURCE_LENGTH)) {
      throw new ValidationFailedError(`source must be a string of 1 to ${MAX_SOURCE_LENGTH} characters`, { field: 'source' });
    }
    if (event.caller !== undefined) {
      // A caller's name scopes its request ids: `@` starts the engine's own namespaces, never a caller's.
      requireId('caller.name', event.caller?.name);
      requireId('caller.role', event.caller.role);
      if (event.caller.name.startsWith('@')) throw new ValidationFailedError('a caller name may not start with @', { field: 'caller.name' });
    }
    const problem = payloadProblem(event.payload, MAX_PAYLOAD_DEPTH);
    if (problem) throw new ValidationFailedError(`the payload ${payloadProblemMessage(problem, MAX_PAYLOAD_DEPTH)}`, { field: 'payload' });
    if (event.expectedVersion !== undefined && !(Number.isInteger(event.expectedVersion) && event.expectedVersion >= 0)) {
      throw new ValidationFailedError('expectedVersion must be a whole number', { field: 'expectedVersion' });
    }
    if (event.fenceVersion !== undefined && !(Number.isInteger(event.fenceVersion) && event.fenceVersion >= 0)) {
      throw new ValidationFailedError('fenceVersion must be a whole number', { field: 'fenceVersion' });
    }
    if (event.operator !== undefined) {
      requireId('operator.name', event.operator?.name);
      requireReason('operator.reason', event.operator.reason);
      requireId('operator.act', event.operator.act);
    }
    if (event.source === OPERATOR_SOURCE && (event.caller === undefined || event.operator === undefined)) {
      throw new ValidationFailedError('an operator\'s event names its operator as the caller, with the act and its reason', { field: 'operator' });
    }
    if (fsmOrder && fsmOrder.orderId !== event.orderId) {
      throw new ValidationFailedError(`the event is for order ${event.orderId} but the order given is ${fsmOrder.orderId}`);
    }
    if (event.newCreate && (!fsmOrder || fsmOrder.version !== 0)) {
      throw new ValidationFailedError('a create event needs the new order (version 0): use createOrder()');
    }
  }

  /**
   * Who may send the event is part of the machine: the engine's own sources send as `system`, anyone
   * else as its caller's role. Checked before the order is locked or read: a refusal touches nothing.
   */
  private authorize(event: OrderStateEvent, machine?: MachineDefinition): void {
    // The service decided who is an operator (the operator API's guard): `sentBy` is for everyone else.
    if (event.source === OPERATOR_SOURCE) return;
    // Before the order is read, the current machine decides, or any earlier one served (an order of
    // which may take the event); once it is read, its own version does.
    const machines = machine ? [machine] : [this.options.machine, ...[...this.options.machines.values()].filter((m) => m !== this.options.machine)];
    let refusal: EventNotAllowedError | undefined;
    for (const candidate of machines) {
      // A version that does not declare the event says nothing of who may send it: it must not let anyone.
      if (machines.length > 1 && !candidate.events.has(event.eventType)) continue;
      const allowed = candidate.sendersOf(event.eventType);
      if (!allowed) return;
      // A held event is sent again as its first sender sent it.
      const sender = SYSTEM_SOURCES.has(event.source ?? 'api') ? SYSTEM_SENDER : event.caller?.role;
      if (sender !== undefined && allowed.has(sender)) return;
      refusal ??= new EventNotAllowedError(event.orderId, event.eventType, sender, [...allowed]);
    }
    if (refusal) throw refusal;
  }

  /** MACHINE_VERSION_NOT_YET_SERVED when the order follows a version newer than this instance serves. */
  private async refuseNewer(orderId: string): Promise<void> {
    const order = await this.store.load(orderId).catch(() => null);
    if (order && (order.machineVersion ?? this.options.machine.version) > this.options.machine.version) this.machineOf(order);
  }

  /**
   * The machine an order follows: its own version's, if this service serves it. Otherwise
   * MACHINE_VERSION_NOT_YET_SERVED (transient) for a version newer than the current one, which an
   * instance of a newer release serves, and MACHINE_VERSION_NOT_SERVED for an earlier one.
   */
  machineOf(order: FsmOrder): MachineDefinition {
    const machine = servedMachineOf(this.options, order);
    if (machine) return machine;
    const version = order.machineVersion ?? this.options.machine.version;
    const served = [...this.options.machines.keys()].sort((a, b) => a - b);
    if (version > this.options.machine.version) throw new MachineVersionNotYetServedError(order.orderId, this.options.machine.name, version, served);
    throw new MachineVersionNotServedError(order.orderId, this.options.machine.name, version, served);
  }

  private replay<T>(consumed: ConsumedRequest, hash: string, requestId: string): TransitionOutcome<T> {
    if (consumed.requestHash !== hash) throw new IdempotencyKeyReusedError(requestId);
    const response = consumed.response as TransitionOutcome<T>;
    if (typeof response.orderId === 'string') nameOrder(response.orderId);
    return { ...response, replayed: true };
  }

  private async apply<T>(event: OrderStateEvent, order: FsmOrder, hash: string, callerKey: string): Promise<TransitionOutcome<T>> {
    if (event.orderState !== undefined && event.orderState !== order.state) {
      throw new OrderStateNotMatchError(order.orderId, event.orderState, order.state);
    }
    requireFences(event, order);
    const machine = this.machineOf(order);
    // Checked before the order was read against every version served: now against the order's own.
    if (this.options.machines.size > 1) this.authorize(event, machine);
    const source = event.source ?? 'api';
    // Late: the machine has no transition for the event in this state. Its policy says what happens;
    // refuse is what happens without one (below, as before: no processor takes it).
    if (!machine.hasEvent(order.state, event.eventType) && isLatePolicySource(source)) {
      const policy = machine.latePolicy(event.eventType, order.state);
      if (policy.kind !== 'refuse') return this.applyLate<T>(event, order, hash, callerKey, machine, policy);
    }
    // In a machine that says who sends what, an order's automatic work is the worker's alone, and the
    // worker and the sweeper send nothing else: a work message naming another event is refused.
    if (machine.declaresSenders) {
      const automatic = machine.automaticWork(order.state, order.bizCode, order.sceneId)?.event === event.eventType;
      if (automatic && !SYSTEM_SOURCES.has(source) && source !== OPERATOR_SOURCE) {
        throw new EventNotAllowedError(order.orderId, event.eventType, event.caller?.role, [SYSTEM_SENDER]);
      }
      if (!automatic && (source === 'worker' || source === 'sweeper')) {
        throw EventNotAllowedError.notAutomatic(order.orderId, event.eventType, source, order.state);
      }
    }
    const ctx = new StateContext(event, order);
    const processor = this.selectProcessor(ctx, machine.version) as AbstractStateProcessor<{ result: T }>;
    nameProcessor(processor.constructor.name);
    const plugins = this.registry.resolvePlugins(order.state, event.eventType, order.bizCode, order.sceneId, machine.version);
    const run = new ProcessorRun<T>(processor, ctx, plugins, this.checkers, this.logger, this.tracing);
    let ended: ServiceResult = ServiceResult.fail('INTERNAL_ERROR', 'the template did not finish');
    try {
      const decision = await run.decide((toState) => {
        if (!machine.allows(order.state, event.eventType, toState)) {
          throw new TransitionNotDeclaredError(order.orderId, order.state, event.eventType, toState, processor.constructor.name);
        }
      });
      const writer = new TransitionWriter({
        event,
        order,
        toState: decision.nextState,
        requestHash: hash,
        callerKey,
        machine,
        outbox: this.options.outbox,
        processorName: processor.constructor.name,
        processor: processor.constructor.name,
        traceContext: this.tracing?.activeCarrier(),
      });
      const write = writer.write(
        () => ctx.scheduledEvents,
        decision.result,
        run.saves ? (manager) => run.save(decision, manager as EntityManager) : undefined,
      );
      const { order: committed, outcome } = await this.commit(write);
      this.signal.committed();
      this.countTransition(order, decision.nextState, event);
      await this.wakeHeld(order);
      ended = ServiceResult.ok(outcome.result);
      await run.after();
      return { ...writer.answer(outcome.result), order: committed };
    } catch (error) {
      ended = failureOf(error);
      throw error;
    } finally {
      await run.release(ended);
    }
  }

  /** The forced move: the writer and the commit of any transition, with no processor's decision before them. */
  private async applyForced<T>(event: OrderStateEvent, order: FsmOrder, hash: string, callerKey: string, forced: ForcedMove): Promise<TransitionOutcome<T>> {
    requireFences(event, order);
    const machine = this.machineOf(order);
    if (!machine.hasState(forced.toState) || forced.toState === machine.initial) {
      throw new StateNotDeclaredError(forced.toState, machine.stateNames.filter((state) => state !== machine.initial), order.orderId);
    }
    const writer = new TransitionWriter({
      event,
      order,
      toState: forced.toState,
      requestHash: hash,
      callerKey,
      machine,
      outbox: this.options.outbox,
      processorName: 'the operator',
      traceContext: this.tracing?.activeCarrier(),
    });
    const write = { ...writer.write<T>(() => forced.timers, ServiceResult.ok<T>(undefined as T)), overridesPause: true };
    const { order: committed } = await this.commit(write);
    this.signal.committed();
    this.countTransition(order, forced.toState, event);
    await this.wakeHeld(order);
    return { ...writer.answer<T>(undefined), order: committed };
  }

  /** A transition moved an order with late events: those it holds are looked at now, since its new state may take them. */
  private async wakeHeld(order: FsmOrder): Promise<void> {
    if (!order.lateEvents) return;
    // After the commit, not in it: a wake lost to a crash here only waits for the next look (at most a minute).
    await this.store.wakeHeldEvents(order.orderId, new Date()).catch((error: unknown) => this.logger.warn(`held events of order ${order.orderId} not woken: ${(error as Error).message}`));
  }

  /**
   * An event the machine has no transition for in the order's state, and a policy for: recorded
   * with its answer in one transaction fenced by the order's version (ignored, held or
   * compensated), so a retry of the request is answered the same, and nothing it sent is lost.
   */
  private async applyLate<T>(event: OrderStateEvent, order: FsmOrder, hash: string, callerKey: string, machine: MachineDefinition, policy: ResolvedLatePolicy): Promise<TransitionOutcome<T>> {
    const at = new Date();
    let result: T | undefined;
    let late: LateOutcome;
    if (policy.kind === 'compensate') {
      result = (await this.compensate(event, order, order.state, machine)) as T;
      late = { policy: 'compensate', status: 'compensated' };
    } else if (policy.kind === 'hold') {
      late = { policy: 'hold', status: 'held', deadline: new Date(at.getTime() + policy.forMs).toISOString() };
    } else {
      late = { policy: 'ignore', status: 'ignored' };
    }
    const answer: TransitionOutcome<T> = {
      orderId: order.orderId,
      event: event.eventType,
      fromState: order.state,
      toState: order.state,
      version: order.version,
      result,
      order,
      late,
      ...(late.status === 'ignored' && { ignored: true }),
    };
    const source = event.source ?? 'api';
    const traceContext = this.tracing?.activeCarrier();
    await this.store.recordLateEvent({
      order,
      event: event.eventType,
      requestId: event.requestId,
      requestHash: hash,
      caller: callerKey,
      callerRole: event.caller?.role ?? '',
      source,
      payload: event.payload === undefined ? null : JSON.stringify(event.payload),
      policy: late.policy,
      status: late.status as 'ignored' | 'held' | 'compensated',
      response: JSON.stringify({ ...answer, result: result ?? null }),
      deadline: late.deadline ? new Date(late.deadline) : null,
      at,
      messages: this.options.outbox ? [this.traced(lateOutboxMessage(order, { event: event.eventType, requestId: event.requestId, caller: callerKey, source, at, late, result }), traceContext)] : [],
    });
    if (this.options.outbox) this.signal.committed();
    return answer;
  }

  /**
   * Runs the one compensation of `event` in `state` (where it arrived late, or was held) that
   * accepts it, against `order` as it is, and answers its result. NOT_FOUND_PROCESSOR without one,
   * AMBIGUOUS_PROCESSOR with several. The HeldEventPoller calls it for a held event that expires
   * where its machine says `onExpiry: 'compensate'`.
   */
  async compensate(event: OrderStateEvent, order: FsmOrder, state: string, machine: MachineDefinition): Promise<unknown> {
    const ctx = new StateContext(event, order);
    const compensation = this.registry.resolveCompensations(state, event.eventType, order.bizCode, order.sceneId, machine.version).filter((candidate) => candidate.filter(ctx));
    if (compensation.length === 0) throw new ProcessorNotFoundError(order.orderId, state, event.eventType, order.bizCode, order.sceneId);
    if (compensation.length > 1) throw new AmbiguousProcessorError(order.orderId, state, event.eventType, compensation.map((c) => c.constructor.name));
    nameProcessor(compensation[0].constructor.name);
    return compensation[0].compensate(ctx);
  }

  /**
   * Moves an order that follows a version this service does not serve on through its declared
   * migrations, under its lock, as its next event would: each step a transition with source
   * `migration`, which brings the new state's automatic work and the timers it still takes. What the
   * sweeper does for such an order stuck in an automatic state, which no event would reach. Answers
   * the order as it is after; an order of a served version, a paused one, or one whose version has no
   * migration declared, is answered as it is; undefined when there is no such order.
   */
  async migrateUnserved(orderId: string): Promise<FsmOrder | undefined> {
    requireId('orderId', orderId);
    const handle = await this.lock.acquire(orderId);
    try {
      const order = await this.store.load(orderId);
      if (!order) return undefined;
      if (order.paused || servedMachineOf(this.options, order)) return order;
      return await this.migrateOnEvent(order);
    } finally {
      await handle.release();
    }
  }

  /** Lazy migrations, one version at a time, before an event applies. */
  private async migrateOnEvent(order: FsmOrder): Promise<FsmOrder> {
    for (;;) {
      const version = order.machineVersion ?? this.options.machine.version;
      if (version === this.options.machine.version) return order;
      const migration = this.options.migrations.get(version);
      const served = this.options.machines.has(version);
      if (!migration || (served && !migration.lazy) || migration.stateFor(order.state) === undefined) return order;
      order = await this.commitMigration(order, migration);
    }
  }

  /**
   * An operator's migration of one order, a version at a time up to `toVersion` (default: the
   * current one), under the order's lock: each step a transition with source `migration`, the
   * operator as actor, the reason, a status message and an audit row. A dry run says what would
   * happen and writes nothing. An order already there answers no steps.
   */
  async migrate(input: MigrateInput): Promise<MigrationOutcome> {
    if (!input?.dryRun) this.requireOpen();
    requireId('orderId', input?.orderId);
    requireReason('reason', input.reason);
    requireId('operator.name', input.operator?.name);
    const target = input.toVersion ?? this.options.machine.version;
    if (!this.options.machines.has(target)) {
      throw new ValidationFailedError(`toVersion ${String(input.toVersion)} is not a version this service serves (${[...this.options.machines.keys()].join(', ')})`, { field: 'toVersion' });
    }
    const handle = await this.lock.acquire(input.orderId);
    try {
      let order = await this.store.load(input.orderId);
      if (!order) throw new OrderNotFoundError(input.orderId);
      if (order.paused) throw new OrderPausedError(order.orderId, order.paused);
      const steps: MigrationStep[] = [];
      for (;;) {
        const version = order.machineVersion ?? this.options.machine.version;
        if (version >= target) break;
        const migration = this.options.migrations.get(version);
        if (!migration) throw new MigrationNotDeclaredError(order.orderId, this.options.machine.name, version);
        const toState = migration.stateFor(order.state);
        if (toState === undefined) break; // a final state the migration leaves where it is
        steps.push({ fromVersion: version, toVersion: migration.to.version, fromState: order.state, toState });
        if (input.dryRun) {
          order = { ...order, state: toState, machineVersion: migration.to.version };
          continue;
        }
        order = await this.commitMigration(order, migration, { operator: input.operator, reason: input.reason });
      }
      return { orderId: order.orderId, steps, dryRun: input.dryRun === true, order };
    } finally {
      await handle.release();
    }
  }

  /**
   * One migration step as a transition: the order's state mapped onto the next version's (its data
   * too, where the migration maps it), the log row (source `migration`), the status message, the new
   * state's automatic work, and the timers still pending carried over where the new state takes them.
   */
  private async commitMigration(order: FsmOrder, migration: MachineMigration, act?: { operator: Caller; reason: string }): Promise<FsmOrder> {
    const toState = migration.stateFor(order.state)!;
    const from = migration.from.version;
    const event: OrderStateEvent = {
      eventType: MIGRATE_EVENT,
      orderId: order.orderId,
      requestId: derivedRequestId('migrate', order.orderId, from, migration.to.version),
      source: MIGRATION_SOURCE,
      payload: { fromVersion: from, toVersion: migration.to.version },
      ...(act && { caller: act.operator, operator: { name: act.operator.name, reason: act.reason, act: 'migrate' } }),
    };
    const migrated: FsmOrder = { ...order, data: migration.dataFor(order.data, order) as FsmOrder['data'] };
    const pending = await this.store.pendingTimers(order.orderId, order.version);
    const timers = pending.filter((timer) => migration.to.hasEvent(toState, timer.event));
    const writer = new TransitionWriter({
      event,
      order: migrated,
      toState,
      requestHash: requestHash(event),
      callerKey: SYSTEM_CALLER_KEY,
      machine: migration.to,
      outbox: this.options.outbox,
      processorName: `migration ${migration.name}`,
      traceContext: this.tracing?.activeCarrier(),
    });
    const { order: committed } = await this.commit(writer.write(() => timers, ServiceResult.ok(undefined)));
    this.signal.committed();
    this.countTransition(order, toState, event);
    this.logger.log(`migrated order ${order.orderId} ${migration.name}: ${order.state} -> ${toState}`);
    return committed;
  }

  private selectProcessor(ctx: StateContext, version: number): AbstractStateProcessor {
    const { order, event } = ctx;
    const candidates = this.registry.resolve(order.state, event.eventType, order.bizCode, order.sceneId, version);
    let chosen: AbstractStateProcessor | undefined;
    let accepted: AbstractStateProcessor[] | undefined;
    for (const candidate of candidates) {
      if (!candidate.filter(ctx)) continue;
      if (chosen === undefined) chosen = candidate;
      else (accepted ??= [chosen]).push(candidate);
    }
    if (accepted) {
      throw new AmbiguousProcessorError(order.orderId, order.state, event.eventType, accepted.map((p) => p.constructor.name));
    }
    if (!chosen) throw new ProcessorNotFoundError(order.orderId, order.state, event.eventType, order.bizCode, order.sceneId);
    return chosen;
  }
}
