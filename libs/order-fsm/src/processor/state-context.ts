import type { EntityManager } from 'typeorm';
import { messages } from '../order-fsm.messages.js';
import type { FsmOrder } from '../model/order.js';
import type { OrderStateEvent } from '../model/event.js';

export interface ScheduledEvent {
  readonly event: string;
  readonly fireAt: Date;
}

/**
 * Everything one event carries through the template: the event, the order as loaded, and the
 * processor's own typed context `C`, which starts empty and is filled by prepare().
 */
export class StateContext<C = Record<string, unknown>, P = unknown> {
  context: C = {} as C;
  /** Set once getNextState() has answered; plugins and save() can read it. */
  nextState?: string;
  private transactionManager?: EntityManager;
  private readonly scheduled: ScheduledEvent[] = [];

  constructor(
    readonly event: OrderStateEvent<P>,
    readonly order: FsmOrder,
  ) {}

  get payload(): P {
    return this.event.payload as P;
  }

  /** The transaction the engine opened for save(): write your own rows through it. */
  get manager(): EntityManager {
    if (!this.transactionManager) throw new Error(messages.managerOutsideSave);
    return this.transactionManager;
  }

  /**
   * Schedules `event` for this order, durably, with the transition: it fires at the time given if the
   * order is then still at the version this transition gives it, and fires nothing otherwise.
   */
  schedule(event: string, when: { afterMs: number } | { at: Date }): void {
    const fireAt = 'at' in when ? when.at : new Date(Date.now() + when.afterMs);
    if (!(fireAt instanceof Date) || Number.isNaN(fireAt.getTime())) throw new Error(`schedule(${event}): not a time`);
    this.scheduled.push({ event, fireAt });
  }

  /** @internal the events scheduled so far. */
  get scheduledEvents(): readonly ScheduledEvent[] {
    return this.scheduled;
  }

  /** @internal used by the engine around save(). */
  bindManager(manager: EntityManager | undefined): void {
    this.transactionManager = manager;
  }
}
