import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { derivedRequestId, OrderFsmEngine } from '../engine/order-fsm.engine.js';
import { OrderFsmError } from '../errors/order-fsm.errors.js';
import { ORDER_FSM_OPTIONS, ORDER_STORE } from '../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { DueTimer, OrderStore } from '../persistence/order-store.js';
import { BackgroundLoop } from './background-loop.js';

/** Transient: fire the timer again shortly. */
const TRY_AGAIN = new Set(['ORDER_BUSY', 'VERSION_CONFLICT', 'DEPENDENCY_UNAVAILABLE']);
const MOVED_ON = new Set(['ORDER_STATE_NOT_MATCH', 'NOT_FOUND_PROCESSOR', 'ORDER_NOT_FOUND']);

/**
 * Fires due timers, each once: a timer claims its row (so instances never share one), sends its event
 * with a request id derived from the timer (so a fire repeated after a crash is a replay), and
 * expects the order still at the version that scheduled it (so an order that moved on gets nothing).
 */
@Injectable()
export class TimerPoller implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TimerPoller.name);
  private readonly loop: BackgroundLoop;

  constructor(
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
    private readonly engine: OrderFsmEngine,
  ) {
    const { intervalMs, batchSize } = options.timers;
    this.loop = new BackgroundLoop('timer poller', this.logger, intervalMs, async () => {
      const fired = await this.store.fireDueTimers(new Date(), batchSize, (timer) => this.fire(timer));
      return fired === batchSize;
    });
  }

  onApplicationBootstrap(): void {
    if (this.options.timers.enabled) this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  /** Answers the outcome to record, or null to try again shortly. */
  async fire(timer: DueTimer): Promise<string | null> {
    try {
      const outcome = await this.engine.sendEvent({
        eventType: timer.event,
        orderId: timer.orderId,
        requestId: derivedRequestId('timer', timer.id),
        orderState: timer.state,
        expectedVersion: timer.version,
        source: 'timer',
      });
      return outcome.replayed ? 'replayed' : 'fired';
    } catch (error) {
      const code = error instanceof OrderFsmError ? error.code : 'INTERNAL_ERROR';
      if (TRY_AGAIN.has(code)) return null;
      if (MOVED_ON.has(code)) return 'moved-on';
      this.logger.warn(`timer ${timer.id} (${timer.event} for order ${timer.orderId}) failed: ${(error as Error).message}`);
      return code;
    }
  }
}
