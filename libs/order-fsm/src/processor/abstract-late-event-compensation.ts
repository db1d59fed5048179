import type { ProcessorTypes } from './processor-types.js';
import type { StateContext } from './state-context.js';

/**
 * The contract of a @LateEventCompensation: what is done, once, for an event that arrives in a state
 * where the machine's late policy for it is `compensate` (a refund for a payment that arrives after
 * the order was cancelled). The engine records the event and the result in one transaction, fenced
 * by the order's version, and sends the result as a late-event message through the outbox: the
 * compensation's own effect leaves through that message (or through work its consumer does), so that
 * a retry of the request is answered from the record and nothing is done twice.
 *
 * Throwing refuses the event (an OrderFsmError keeps its code); nothing is recorded, and the same
 * request may be sent again.
 */
export abstract class AbstractLateEventCompensation<S extends ProcessorTypes = {}, R = unknown> {
  /** Among several compensations registered for the same key, the one whose filter() accepts runs. Default: accepts. */
  filter(_ctx: StateContext<S>): boolean {
    return true;
  }

  /** What to do for the late event: the result is recorded with it and sent in its message. */
  abstract compensate(ctx: StateContext<S>): R | Promise<R>;
}
