import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { derivedRequestId, OrderFsmEngine } from '../engine/order-fsm.engine.js';
import { errorKindOf } from '../errors/error-codes.js';
import { OrderFsmError } from '../errors/order-fsm.errors.js';
import { ORDER_FSM_OPTIONS, ORDER_STORE } from '../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { DueTimer, OrderStore } from '../ports/order-store.js';
import { BackgroundLoop } from './background-loop.js';


/** How long a claimed timer is held by the instance that claimed it before another may fire it. */
const CLAIM_LEASE_MS = 30_000;
/** A timer that could not fire now (the order was busy, a dependency was down) is tried again after this. */
const RETRY_AFTER_MS = 1_000;
/** A timer of a paused order is held back this long at a time; resuming the order makes it due at once. */
const HELD_RETRY_MS = 60_000;
/** A timer of an order of a machine version newer than this instance serves: another instance fires it; this one looks again after this. */
export const NOT_YET_SERVED_RETRY_MS = 10_000;

/**
 * Fires due timers, each once. The poller claims a batch and commits the claim (instances never
 * share a timer, and nothing stays open while the timers fire); each timer then goes through
 * sendEvent like any event, with a request id derived from the timer (a fire repeated after a crash
 * is a replay) and the version that scheduled it (an order that moved on gets nothing). A timer that
 * fires is marked in its transition's own transaction: the order's new state and the timer's
 * `fired` are seen together or not at all. Other outcomes are recorded after the answer.
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
      const claimed = await this.fireDue(new Date(), batchSize);
      return claimed === batchSize;
    });
  }

  onApplicationBootstrap(): void {
    if (this.options.timers.enabled) this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  /** Claims the timers due at `now` and fires each; answers how many were claimed. */
  async fireDue(now: Date, limit: number): Promise<number> {
    const due = await this.store.claimDueTimers(now, limit, CLAIM_LEASE_MS);
    const claimedAt = Date.now();
    let failure: unknown;
    for (const [index, timer] of due.entries()) {
      if (Date.now() - claimedAt > CLAIM_LEASE_MS / 2) {
        // Slow firing (busy orders, a slow database) must not outlive the lease, or another instance
        // would take the same timers while this one still fires them: hand the rest back now.
        for (const rest of due.slice(index)) await this.store.settleTimer(rest.id, { retryAt: new Date() }).catch((error: unknown) => (failure ??= error));
        break;
      }
      // One timer whose outcome cannot be recorded (the database went away) leaves the rest of the batch
      // to fire all the same; it comes due again when its lease runs out.
      await this.fire(timer).catch((error: unknown) => (failure ??= error));
    }
    if (failure) throw failure;
    return due.length;
  }

  private async fire(timer: DueTimer): Promise<void> {
    let result: { outcome: string } | { retryAt: Date; held?: boolean } | undefined;
    try {
      const outcome = await this.engine.sendEvent({
        eventType: timer.event,
        orderId: timer.orderId,
        requestId: derivedRequestId('timer', timer.id),
        orderState: timer.state,
        expectedVersion: timer.version,
        source: 'timer',
        firesTimer: timer.id,
      });
      // Applied: its transaction marked the timer. A replay: an earlier fire applied it and marked it.
      if (outcome.replayed) result = { outcome: 'replayed' };
    } catch (error) {
      // What to do is the error table's word (ERRORS): a transient failure fires again shortly, an order
      // that moved on gets nothing, anything else is recorded as the timer's outcome.
      const code = error instanceof OrderFsmError ? error.code : 'INTERNAL_ERROR';
      const kind = errorKindOf(code);
      if (code === 'MACHINE_VERSION_NOT_YET_SERVED') result = { retryAt: new Date(Date.now() + NOT_YET_SERVED_RETRY_MS) };
      else if (kind === 'transient') result = { retryAt: new Date(Date.now() + RETRY_AFTER_MS) };
      else if (kind === 'moved-on') result = { outcome: 'moved-on' };
      // Paused: held back, pending, until the order is resumed (which makes it due at once), never spent.
      else if (kind === 'held') result = { retryAt: new Date(Date.now() + HELD_RETRY_MS), held: true };
      else {
        this.logger.warn(`timer ${timer.id} (${timer.event} for order ${timer.orderId}) failed: ${(error as Error).message}`);
        result = { outcome: code };
      }
    }
    if (result) await this.store.settleTimer(timer.id, result);
  }
}
