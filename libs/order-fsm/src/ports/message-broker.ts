import type { TraceCarrier, WorkMessage } from '../model/messages.js';
import type { ClaimedMessage } from './order-store.js';

/** The publishing port the outbox relay uses. */
export interface MessagePublisher {
  /** True while the broker can be reached; the relay claims nothing otherwise. */
  isConnected(): boolean;
  /**
   * Publishes persistently, in the order given, and answers the ids of the messages the broker
   * acknowledged. It never throws for a message that was not acknowledged: it leaves it out. A
   * message's `traceContext`, when it has one, goes in its headers.
   */
  publish(messages: readonly ClaimedMessage[]): Promise<readonly number[]>;
}

/** What the worker decided about one delivery of automatic work. */
export type WorkVerdict =
  | { readonly outcome: 'done'; readonly detail: string }
  | { readonly outcome: 'retry'; readonly reason: string }
  /**
   * Not the work's fault (a dependency is down, the order is busy): again after the first delay,
   * spending no attempt; `patient`, when what it waits for takes longer (an instance of a newer
   * release, during a rolling deploy), after the last delay.
   */
  | { readonly outcome: 'wait'; readonly reason: string; readonly patient?: boolean }
  | { readonly outcome: 'dead'; readonly reason: string };

/**
 * `attempt` counts deliveries of this work, from 1. `traceContext` is what the message's headers
 * carried (a message published with one carries it in every delivery, retries too): the worker
 * continues that trace.
 */
export type WorkHandler = (work: WorkMessage, attempt: number, traceContext?: TraceCarrier) => Promise<WorkVerdict>;

/**
 * The consuming port the worker uses. The adapter redelivers `retry` work after growing delays and
 * moves it to a dead-letter queue after its last attempt, moves `dead` work there at once, and
 * acknowledges a delivery only once its outcome is settled.
 */
export interface WorkConsumer {
  /** How many deliveries a piece of work gets before it is dead-lettered. */
  readonly maxAttempts: number;
  /**
   * The delays between deliveries of `retry` work (see redeliveryOf()), when the adapter tells them:
   * the worker records when a failed attempt comes again.
   */
  readonly retryDelaysMs?: readonly number[];
  /** `onDeadLetter` is told of each piece of work dead-lettered, with the deliveries it had. */
  start(handler: WorkHandler, onDeadLetter: (work: WorkMessage, reason: string, attempts: number) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}
