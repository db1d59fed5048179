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
  /**
   * Set when the event arrived late (no transition for it in the order's state) and the machine's
   * policy for it did not refuse it: nothing moved (`toState` is `fromState`, `version` unchanged).
   */
  readonly late?: LateOutcome;
  /** True when the late event was ignored, as the machine says. */
  readonly ignored?: boolean;
}

/** What a late policy made of an event. */
export interface LateOutcome {
  readonly policy: 'ignore' | 'hold' | 'compensate';
  /** ignored, compensated or held when answered; a held one ends released, expired, compensated (on expiry) or refused. */
  readonly status: 'ignored' | 'compensated' | 'held' | 'released' | 'expired' | 'refused';
  /** A held event: when it expires (ISO time). */
  readonly deadline?: string;
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
