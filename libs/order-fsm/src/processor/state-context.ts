import type { EntityManager } from 'typeorm';
import { messages } from '../order-fsm.messages.js';
import type { FsmOrder } from '../model/order.js';
import type { OrderStateEvent } from '../model/event.js';
import type { ContextOf, DataOf, EventNameOf, PayloadOf, ProcessorTypes, TargetOf } from './processor-types.js';

export interface ScheduledEvent {
  readonly event: string;
  readonly fireAt: Date;
}

/**
 * Everything one event carries through the template: the event, the order as loaded, and the
 * processor's own context, which starts empty and is filled by prepare(). The bag `S` types them:
 * `ctx.order.data` is its `data`, `ctx.payload` its `payload`, `ctx.context` its `context` (see
 * ProcessorTypes).
 */
export class StateContext<S extends ProcessorTypes = {}> {
  context: ContextOf<S> = {} as ContextOf<S>;
  /** Set once getNextState() has answered; plugins and save() can read it. */
  nextState?: TargetOf<S>;
  private transactionManager?: EntityManager;
  private readonly scheduled: ScheduledEvent[] = [];

  constructor(
    readonly event: OrderStateEvent<PayloadOf<S>>,
    readonly order: FsmOrder<DataOf<S>>,
  ) {}

  get payload(): PayloadOf<S> {
    return this.event.payload as PayloadOf<S>;
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
  schedule(event: EventNameOf<S>, when: { afterMs: number } | { at: Date }): void {
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
