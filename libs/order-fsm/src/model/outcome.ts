import type { Caller } from './event.js';
import type { FsmOrder } from './order.js';

/** What sendEvent() answers once a transition has committed. */
export interface TransitionOutcome<T = unknown> {
  readonly orderId: string;
  readonly event: string;
  readonly fromState: string;
  readonly toState: string;
  readonly version: number;
  /** The processor's result data (save()'s when it carries data, else action()'s). */
  readonly result: T | undefined;
  readonly order: FsmOrder;
  /** True when this is the stored answer to a request already applied (its values are JSON-decoded). */
  readonly replayed?: boolean;
}

export interface CreateOrderInput<P = unknown> {
  requestId: string;
  bizCode: string;
  sceneId: string;
  payload?: P;
  /** Generated (a UUID) when omitted. */
  orderId?: string;
  /** Default: the module's createEvent (`CREATE`). */
  event?: string;
  source?: string;
  /** Who creates it: see OrderStateEvent.caller. */
  caller?: Caller;
}
