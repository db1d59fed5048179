import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { workOutboxMessage } from '../model/messages.js';
import { ORDER_FSM_OPTIONS, ORDER_STORE } from '../order-fsm.constants.js';
import { type ResolvedOrderFsmOptions, servedMachineOf } from '../order-fsm.options.js';
import type { OrderStore } from '../ports/order-store.js';
import { BackgroundLoop } from './background-loop.js';

/** How long an order of a machine version this service does not serve is left before it is looked at again. */
export const UNSERVED_VERSION_RECHECK_MS = 60_000;

/**
 * Finds orders that stayed in an automatic state past its limit (a lost message, a crash between
 * commit and publish) and queues their work again through the outbox. This is what makes a lost
 * message harmless: the work comes back until the order moves on.
 *
 * Each order's work is its own machine version's (an order keeps the rules of the version it
 * follows until it is migrated). An order of a version this service does not serve is left as it
 * is, due again UNSERVED_VERSION_RECHECK_MS later: an instance that serves it (during a rolling
 * deploy) takes it then, and it does not hold back the orders behind it in the meantime.
 */
@Injectable()
export class Sweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(Sweeper.name);
  private readonly loop: BackgroundLoop;

  constructor(
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
  ) {
    const { intervalMs, batchSize } = options.sweeper;
    this.loop = new BackgroundLoop('sweeper', this.logger, intervalMs, () => this.sweep().then((n) => n === batchSize));
  }

  onApplicationBootstrap(): void {
    if (this.options.sweeper.enabled) this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass; answers how many orders had their work queued again. */
  async sweep(now = new Date()): Promise<number> {
    const { machine: current, machines } = this.options;
    let requeued = 0;
    const unserved = new Map<number, number>();
    for (const order of await this.store.findStuck(now, this.options.sweeper.batchSize)) {
      const machine = servedMachineOf(this.options, order);
      if (!machine) {
        const version = order.machineVersion ?? current.version;
        if (await this.store.requeue(order, [], new Date(now.getTime() + UNSERVED_VERSION_RECHECK_MS), now)) unserved.set(version, (unserved.get(version) ?? 0) + 1);
        continue;
      }
      const auto = machine.automaticWork(order.state, order.bizCode, order.sceneId);
      const messages = auto ? [workOutboxMessage(order, auto.event, 'sweeper', now.getTime().toString(36))] : [];
      const nextDueAt = auto ? new Date(now.getTime() + auto.stuckAfterMs) : null;
      if (await this.store.requeue(order, messages, nextDueAt, now)) requeued++;
    }
    if (requeued > 0) this.logger.warn(`queued the automatic work of ${requeued} stuck order(s) again`);
    for (const [version, count] of unserved) {
      this.logger.warn(
        `${count} stuck order(s) follow ${current.name} v${version}, which this service does not serve (it serves ${[...machines.keys()].sort((a, b) => a - b).join(', ')}): left for ${UNSERVED_VERSION_RECHECK_MS / 1000} s; serve the version or migrate them`,
      );
    }
    return requeued;
  }
}
