import type { EntityManager } from 'typeorm';
import { messages } from '../order-fsm.messages.js';
import type { FsmOrder } from './fsm-order.js';
import type { OrderStateEvent } from './order-state-event.js';

/**
 * Everything one event carries through the template: the event, the order as loaded, and the
 * processor's own typed context `C`, which starts empty and is filled by prepare().
 */
export class StateContext<C = Record<string, unknown>, P = unknown> {
  context: C = {} as C;
  /** Set once getNextState() has answered; plugins and save() can read it. */
  nextState?: string;
  private transactionManager?: EntityManager;

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

  /** @internal used by the engine around save(). */
  bindManager(manager: EntityManager | undefined): void {
    this.transactionManager = manager;
  }
}
