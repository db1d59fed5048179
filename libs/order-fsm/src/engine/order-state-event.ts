/** Who moved an order: recorded with every transition. */
export type TransitionSource = 'api' | 'worker' | 'timer' | 'sweeper' | (string & {});

export interface OrderStateEvent<P = unknown> {
  eventType: string;
  orderId: string;
  /** Unique per request; a committed transition consumes it. */
  requestId: string;
  /** When set, the event applies only if the order is still in this state. */
  orderState?: string;
  /** When set, the event applies only if the order is still at this version. */
  expectedVersion?: number;
  /** True for the event that creates the order (it starts from the initial, virtual state). */
  newCreate?: boolean;
  payload?: P;
  source?: TransitionSource;
  /** Set by the timer poller: the durable timer this event fires, marked fired in the transition's own transaction. */
  firesTimer?: number;
}
