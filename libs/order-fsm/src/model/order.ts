export type OrderData = Record<string, unknown>;

/** What the engine knows of an order: identity, dimensions, state, the version that fences writes, and its data. */
export interface FsmOrder<D extends object = OrderData> {
  readonly orderId: string;
  state: string;
  version: number;
  readonly bizCode: string;
  readonly sceneId: string;
  data: D;
  createdAt?: Date;
  updatedAt?: Date;
  /** Set when the order's automatic work was dead-lettered and a person should look at it. */
  flag?: { at: Date; reason: string };
  /** Set while an operator has the order paused: every event is refused (ORDER_PAUSED) until it is resumed. */
  paused?: { at: Date; reason: string };
  /** The version of the machine whose rules the order follows (defineMachine's `version`): the one it was created under, until it is migrated. */
  machineVersion?: number;
  /**
   * How many late events were recorded for the order (ignored, held, compensated): its request ids
   * may be consumed there too, and it may hold events a transition should wake.
   */
  lateEvents?: number;
}
