import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { OrderFsmEngine } from '../engine/order-fsm.engine.js';
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
 * follows until it is migrated). An order of a version this service does not serve is migrated,
 * where a migration from that version is declared, as its next event would migrate it; otherwise it
 * is left as it is, due again UNSERVED_VERSION_RECHECK_MS later: an instance that serves it (during
 * a rolling deploy) takes it then, and it does not hold back the orders behind it in the meantime.
 */
@Injectable()
export class Sweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(Sweeper.name);
  private readonly loop: BackgroundLoop;
  /** How many stuck orders the last pass found. */
  private lastFound = 0;

  constructor(
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
    private readonly engine: OrderFsmEngine,
  ) {
    const { intervalMs, batchSize } = options.sweeper;
    // A full batch found means more may be due: the next pass runs at once.
    this.loop = new BackgroundLoop('sweeper', this.logger, intervalMs, () => this.sweep().then(() => this.lastFound === batchSize));
  }

  onApplicationBootstrap(): void {
    if (this.options.sweeper.enabled) this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass; answers how many orders had their work queued again (or were migrated, with their work). */
  async sweep(now = new Date()): Promise<number> {
    const { machine: current, machines } = this.options;
    let requeued = 0;
    let migrated = 0;
    const unserved = new Map<number, number>();
    const stuck = await this.store.findStuck(now, this.options.sweeper.batchSize);
    this.lastFound = stuck.length;
    for (const order of stuck) {
      const machine = servedMachineOf(this.options, order);
      if (!machine) {
        const version = order.machineVersion ?? current.version;
        const migration = this.options.migrations.get(version);
        // A migration declared from its version moves it on (as its next event would), with the
        // automatic work of the state it lands in.
        if (migration && (await this.migrate(order.orderId))) {
          migrated++;
          continue;
        }
        // A state the migration leaves where it is (a final one) has no work to wait for: its due
        // time goes. Otherwise the order waits for an instance that serves its version.
        const settled = migration !== undefined && migration.stateFor(order.state) === undefined;
        const nextDueAt = settled ? null : new Date(now.getTime() + UNSERVED_VERSION_RECHECK_MS);
        if ((await this.store.requeue(order, [], nextDueAt, now)) && !settled) unserved.set(version, (unserved.get(version) ?? 0) + 1);
        continue;
      }
      const auto = machine.automaticWork(order.state, order.bizCode, order.sceneId);
      const messages = auto ? [workOutboxMessage(order, auto.event, 'sweeper', now.getTime().toString(36))] : [];
      const nextDueAt = auto ? new Date(now.getTime() + auto.stuckAfterMs) : null;
      if (await this.store.requeue(order, messages, nextDueAt, now)) requeued++;
    }
    if (requeued > 0) this.logger.warn(`queued the automatic work of ${requeued} stuck order(s) again`);
    if (migrated > 0) this.logger.warn(`migrated ${migrated} stuck order(s) of a version this service does not serve, with their automatic work`);
    const served = [...machines.keys()].sort((a, b) => a - b).join(', ');
    for (const [version, count] of unserved) {
      const left = `left for ${UNSERVED_VERSION_RECHECK_MS / 1000} s`;
      // Newer than this instance: a newer release's instance takes them (a rolling deploy under way, or rolled back).
      if (version > current.version) this.logger.log(`${count} stuck order(s) follow ${current.name} v${version}, newer than this instance serves (it serves ${served}): ${left}, for an instance that serves it`);
      else this.logger.warn(`${count} stuck order(s) follow ${current.name} v${version}, which this service does not serve (it serves ${served}): ${left}; serve the version again, or declare a migration from it`);
    }
    return requeued + migrated;
  }

  /** True when the order now follows a served version; a failure leaves it for the next sweep. */
  private async migrate(orderId: string): Promise<boolean> {
    try {
      const order = await this.engine.migrateUnserved(orderId);
      return order !== undefined && servedMachineOf(this.options, order) !== undefined;
    } catch (error) {
      this.logger.warn(`could not migrate stuck order ${orderId}: ${(error as Error).message}`);
      return false;
    }
  }
}
