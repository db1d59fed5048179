import type { EntityManager } from 'typeorm';
import type { FsmOrder } from '../engine/fsm-order.js';
import type { TransitionSource } from '../engine/order-state-event.js';

/** One transition to commit: the order as it was read, where it goes, and why. */
export interface TransitionWrite {
  /** The order as loaded: its state and version are the fence. Version 0 means "create it". */
  readonly order: FsmOrder;
  readonly toState: string;
  readonly event: string;
  readonly requestId: string;
  readonly source: TransitionSource;
  readonly at: Date;
}

export interface TransitionLogEntry {
  readonly orderId: string;
  readonly version: number;
  readonly event: string;
  readonly fromState: string;
  readonly toState: string;
  readonly requestId: string;
  readonly source: TransitionSource;
  readonly createdAt: Date;
}

/**
 * The storage port. commit() must, in one transaction: write the order only if it still has the
 * version (and state) it was read with, run `work` with the transaction's EntityManager, and append
 * the transition log row; all of it commits or none of it does.
 */
export interface OrderStore {
  load(orderId: string): Promise<FsmOrder | null>;
  commit(write: TransitionWrite, work: (manager: EntityManager) => Promise<void>): Promise<FsmOrder>;
  listTransitions(orderId: string): Promise<TransitionLogEntry[]>;
}
