import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { derivedRequestId, OrderFsmEngine } from '../engine/order-fsm.engine.js';
import type { WorkMessage } from '../engine/outbox-messages.js';
import { OrderFsmError } from '../errors/order-fsm.errors.js';
import type { WorkVerdict } from '../messaging/message-broker.js';
import { ORDER_FSM_OPTIONS, ORDER_STORE } from '../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { OrderStore } from '../persistence/order-store.js';

/** The order is no longer where the work was meant for: nothing is left to do. */
const MOVED_ON = new Set(['ORDER_STATE_NOT_MATCH', 'NOT_FOUND_PROCESSOR']);
/** Failures of the moment, not of the work: a dependency is down or another holder has the order. */
const TRANSIENT = new Set(['DEPENDENCY_UNAVAILABLE', 'ORDER_BUSY']);
/** Failures that another attempt cannot fix. */
const HOPELESS = new Set(['ORDER_NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED', 'VALIDATION_FAILED', 'TRANSITION_NOT_DECLARED', 'FOUND_MORE_PROCESSOR', 'FORBIDDEN']);

/**
 * Turns automatic work into the state's event. Its request id is derived from the order and the
 * version the work was queued for, so a duplicate delivery is a replay, never a second transition;
 * the delivery is acknowledged only after the transition commits (or the order has moved on).
 */
@Injectable()
export class OrderFsmWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderFsmWorker.name);

  constructor(
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
    private readonly engine: OrderFsmEngine,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.worker.enabled) return;
    await this.options.consumer!.start(
      async (work, attempt) => {
        const verdict = await this.handle(work, attempt);
        this.options.metrics.work(work.event, verdict.outcome);
        return verdict;
      },
      (work, reason) => this.store.flagOrder(work.orderId, `automatic ${work.event} dead-lettered: ${reason}`, new Date()),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.options.worker.enabled) await this.options.consumer!.stop();
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
      if (MOVED_ON.has(code)) return { outcome: 'done', detail: reason };
      if (HOPELESS.has(code)) return { outcome: 'dead', reason };
      if (TRANSIENT.has(code)) {
        this.logger.warn(`automatic ${work.event} for order ${work.orderId} waits: ${reason}`);
        return { outcome: 'wait', reason };
      }
      this.logger.warn(`automatic ${work.event} for order ${work.orderId} failed (attempt ${attempt}): ${reason}`);
      return { outcome: 'retry', reason };
    }
  }
}
