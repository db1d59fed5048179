import { DEFAULT_CREATE_EVENT } from './order-fsm.constants.js';
import { messages } from './order-fsm.messages.js';
import type { OrderLock } from './lock/order-lock.js';
import { NoopOrderLock } from './lock/noop-order-lock.js';
import { MachineDefinition } from './machine/machine-definition.js';
import type { OrderStore } from './persistence/order-store.js';

export interface OrderFsmModuleOptions {
  /** The declared states and transitions (defineMachine): nothing else is ever applied. */
  machine: MachineDefinition;
  /** Where orders and their transitions live, e.g. `new TypeOrmOrderStore(dataSource)`. */
  store: OrderStore;
  /**
   * The per-order lock, e.g. `new RedlockOrderLock(redis)`; `false` for none (the version fence alone
   * still keeps concurrent events from double-applying, at the cost of wasted work under contention).
   */
  lock: OrderLock | false;
  /** The event createOrder() sends. Default `CREATE`. */
  createEvent?: string;
  /**
   * Write a status message (and the work of automatic states) to the outbox with every transition.
   * Default true; switch it off only where no relay will ever publish them.
   */
  outbox?: boolean;
}

export interface ResolvedOrderFsmOptions {
  readonly machine: MachineDefinition;
  readonly store: OrderStore;
  readonly lock: OrderLock;
  readonly initialState: string;
  readonly createEvent: string;
  readonly outbox: boolean;
}

const isFunction = (value: unknown): boolean => typeof value === 'function';

/** Applies defaults and rejects options that cannot work, for forRoot and forRootAsync alike. */
export function resolveOrderFsmOptions(options: OrderFsmModuleOptions): ResolvedOrderFsmOptions {
  if (!options || typeof options !== 'object') throw new Error(messages.badOptions('options are missing'));
  const { store, lock, machine } = options;
  if (!(machine instanceof MachineDefinition)) throw new Error(messages.badOptions('"machine" must be declared with defineMachine()'));
  if (!store || !isFunction(store.load) || !isFunction(store.commit) || !isFunction(store.listTransitions)) {
    throw new Error(messages.badOptions('"store" must implement OrderStore (load, commit, listTransitions)'));
  }
  if (lock !== false && (!lock || !isFunction(lock.acquire))) {
    throw new Error(messages.badOptions('"lock" must implement OrderLock (acquire), or be false for no lock'));
  }
  const initialState = machine.initial;
  const createEvent = options.createEvent ?? DEFAULT_CREATE_EVENT;
  for (const [name, value] of [
    ['initialState', initialState],
    ['createEvent', createEvent],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) throw new Error(messages.badOptions(`"${name}" must be a non-empty string`));
  }
  return Object.freeze({
    machine,
    store,
    lock: lock === false ? new NoopOrderLock() : lock,
    initialState,
    createEvent,
    outbox: options.outbox ?? true,
  });
}
