import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { derivedRequestId, OrderFsmEngine } from '../engine/order-fsm.engine.js';
import type { TraceCarrier, WorkMessage } from '../model/messages.js';
import type { OrderFsmTracing } from '../ports/tracing.js';
import { type ErrorKind, errorKindOf } from '../errors/error-codes.js';
import { OrderFsmError } from '../errors/order-fsm.errors.js';
import type { WorkVerdict } from '../ports/message-broker.js';
import { ORDER_FSM_OPTIONS, ORDER_STORE } from '../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { OrderStore, WorkAttemptOutcome } from '../ports/order-store.js';
import { redeliveryOf } from '../ports/redelivery.js';

/** The span of one delivery of automatic work: the sendEvent it makes is its child. */
export const WORK_SPAN = 'order-fsm.work';

/**
 * The verdict on a failure, from the one error table (ERRORS): the order moved on, nothing left to
 * do; refused, another attempt cannot fix it; transient, again shortly without spending an attempt;
 * failed, again after a growing delay, a limited number of times; held (an operator paused the
 * order), done with for now: resuming the order queues its work again.
 */
/** How many waiting pieces of work the worker remembers having recorded, at most. */
const MAX_WAITS_REMEMBERED = 10_000;

const VERDICT: Record<ErrorKind, WorkVerdict['outcome']> = { 'moved-on': 'done', refused: 'dead', transient: 'wait', failed: 'retry', held: 'done' };

/**
 * Waits that last longer than an outage's first seconds: the order follows a machine version that
 * only an instance of a newer release serves (a rolling deploy under way, or rolled back). The work
 * comes back after the longest delay, not every second.
 */
const PATIENT: ReadonlySet<string> = new Set(['MACHINE_VERSION_NOT_YET_SERVED']);

/** One piece of work, whichever delivery of it: its order, the version it was queued for, its event. */
const waitKey = (work: WorkMessage) => `${work.orderId}:${work.version}:${work.event}`;

/**
 * Turns automatic work into the state's event. Its request id is derived from the order and the
 * version the work was queued for, so a duplicate delivery is a replay, never a second transition;
 * the delivery is acknowledged only after the transition commits (or the order has moved on).
 */
@Injectable()
export class OrderFsmWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** The pieces of work whose wait is already recorded (orderId:version:event). */
  private readonly waitsRecorded = new Set<string>();
  private readonly logger = new Logger(OrderFsmWorker.name);

  constructor(
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
    private readonly engine: OrderFsmEngine,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.worker.enabled) return;
    const { tracing } = this.options;
    await this.options.consumer!.start(
      async (work, attempt, traceContext) => {
        const verdict = tracing ? await this.handleTraced(work, attempt, tracing, traceContext) : await this.handle(work, attempt);
        this.options.metrics.work(work.event, verdict.outcome);
        return verdict;
      },
      // Kept for operators to redrive or discard, and its order flagged for them.
      (work, reason, attempts) => this.store.recordDeadLetter({ work, reason, attempts, at: new Date() }),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.options.worker.enabled) await this.options.consumer!.stop();
  }

  /** One delivery in a span that continues the trace its message carried: the transition that queued the work. */
  private handleTraced(work: WorkMessage, attempt: number, tracing: OrderFsmTracing, traceContext?: TraceCarrier): Promise<WorkVerdict> {
    const attributes = {
      'messaging.operation.type': 'process',
      'messaging.message.id': work.messageId,
      'order_fsm.order_id': work.orderId,
      'order_fsm.event': work.event,
      'order_fsm.version': work.version,
      'order_fsm.attempt': attempt,
    };
    return tracing.inSpan(
      WORK_SPAN,
      'consumer',
      attributes,
      async (span) => {
        const verdict = await this.handle(work, attempt);
        span.setAttribute('order_fsm.verdict', verdict.outcome);
        if (verdict.outcome === 'retry' || verdict.outcome === 'dead') span.fail(new Error(verdict.reason));
        return verdict;
      },
      traceContext,
    );
  }

  async handle(work: WorkMessage, attempt: number): Promise<WorkVerdict> {
    try {
      const outcome = await this.engine.sendEvent({
        eventType: work.event,
        orderId: work.orderId,
        requestId: derivedRequestId('auto', work.orderId, work.version),
        orderState: work.state,
        expectedVersion: work.version,
        source: work.origin === 'sweeper' ? 'sweeper' : 'worker',
      });
      return { outcome: 'done', detail: outcome.replayed ? 'replayed' : `applied ${outcome.fromState} -> ${outcome.toState}` };
    } catch (error) {
      const code = error instanceof OrderFsmError ? error.code : 'INTERNAL_ERROR';
      const reason = `${code}: ${(error as Error).message}`;
      const kind = errorKindOf(code);
      const outcome = VERDICT[kind];
      const verdict: WorkVerdict =
        outcome === 'done' ? { outcome, detail: reason } : outcome === 'wait' && PATIENT.has(code) ? { outcome, reason, patient: true } : { outcome, reason };
      if (outcome === 'wait') {
        // Said once per piece of work: it comes back with every redelivery for as long as it waits
        // (an outage; a deploy rolled back, which leaves newer orders' work waiting for hours).
        const line = `automatic ${work.event} for order ${work.orderId} waits: ${reason}`;
        if (this.waitsRecorded.has(waitKey(work))) this.logger.debug(`${line} (again)`);
        else this.logger.warn(line);
      }
      if (outcome === 'retry') this.logger.warn(`automatic ${work.event} for order ${work.orderId} failed (attempt ${attempt}): ${reason}`);
      await this.recordAttempt(work, attempt, verdict, kind, code, (error as Error).message ?? String(error));
      return verdict;
    }
  }

  /**
   * Keeps an attempt that did not apply for the order's timeline, with when it comes again (by the
   * consumer's redelivery policy). Best effort: a failure to record it is logged and changes nothing.
   */
  private async recordAttempt(work: WorkMessage, attempt: number, verdict: WorkVerdict, kind: ErrorKind, errorCode: string, message: string): Promise<void> {
    const at = new Date();
    let outcome: WorkAttemptOutcome;
    let retryAt: Date | null = null;
    if (kind === 'moved-on' || kind === 'held') outcome = kind;
    else {
      const consumer = this.options.consumer;
      const delays = consumer?.retryDelaysMs;
      if (delays) {
        const next = redeliveryOf(verdict, attempt, delays);
        outcome = next.action === 'again' ? (verdict.outcome === 'wait' ? 'wait' : 'retry') : 'dead-lettered';
        // The adapters' fallback when there is no such delay: a second.
        if (next.action === 'again') retryAt = new Date(at.getTime() + (delays[next.delay] ?? 1_000));
      } else if (verdict.outcome === 'wait') outcome = 'wait';
      else if (verdict.outcome === 'retry' && attempt < (consumer?.maxAttempts ?? Infinity)) outcome = 'retry';
      else outcome = 'dead-lettered';
    }
    // A wait is the same attempt coming back while a dependency or another holder is in the way: the
    // first one of a piece of work is kept, not one per redelivery for as long as an outage lasts.
    const key = waitKey(work);
    if (outcome === 'wait') {
      if (this.waitsRecorded.has(key)) return;
      if (this.waitsRecorded.size >= MAX_WAITS_REMEMBERED) this.waitsRecorded.clear();
      this.waitsRecorded.add(key);
    } else {
      this.waitsRecorded.delete(key);
    }
    try {
      await this.store.recordWorkAttempt({ work, attempt, outcome, errorCode, message, retryAt, at });
    } catch (error) {
      this.logger.warn(`attempt ${attempt} of automatic ${work.event} for order ${work.orderId} not recorded: ${(error as Error).message}`);
    }
  }
}
