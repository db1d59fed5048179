import { Logger } from '@nestjs/common';
import type { StatusMessage, TraceCarrier, WorkMessage } from '../../model/messages.js';
import type { MessagePublisher, WorkConsumer, WorkHandler } from '../../ports/message-broker.js';
import { redeliveryOf } from '../../ports/redelivery.js';
import type { ClaimedMessage } from '../../ports/order-store.js';

export interface InProcessMessagingOptions {
  /** Delays before the 2nd, 3rd, ... delivery of failing work. Default 1 s, 5 s, 25 s. */
  retryDelaysMs?: readonly number[];
  /** Status messages kept for `recent()`. Default 1,000. */
  keep?: number;
}

export type StatusListener = (message: StatusMessage) => void;

/** A piece of work that used up its attempts, kept for `deadLetters()`. */
export interface DeadLetter {
  readonly work: WorkMessage;
  readonly reason: string;
}

/**
 * Status messages and automatic work inside one process: the embedded first run and tests. The
 * engine, the outbox and the relay are the same as with RabbitMQ; only delivery differs. Status
 * messages go to the listeners given to `onStatus()`; work is handed to the worker with the same
 * retry, wait and dead-letter rules as AmqpMessaging. Nothing survives the process: the outbox
 * does, and what was not published is published again by the next process on the same database.
 */
export class InProcessMessaging implements MessagePublisher, WorkConsumer {
  readonly maxAttempts: number;
  private readonly logger = new Logger(InProcessMessaging.name);
  readonly retryDelaysMs: readonly number[];
  private readonly keep: number;
  private readonly listeners = new Set<StatusListener>();
  private readonly statuses: StatusMessage[] = [];
  private readonly dead: DeadLetter[] = [];
  private readonly pending: Array<{ work: WorkMessage; attempt: number; traceContext?: TraceCarrier }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private handler?: WorkHandler;
  private onDeadLetter?: (work: WorkMessage, reason: string, attempts: number) => Promise<void>;
  private running = 0;

  constructor(options: InProcessMessagingOptions = {}) {
    this.retryDelaysMs = options.retryDelaysMs ?? [1_000, 5_000, 25_000];
    this.maxAttempts = this.retryDelaysMs.length + 1;
    this.keep = options.keep ?? 1_000;
  }

  isConnected(): boolean {
    return true;
  }

  async publish(messages: readonly ClaimedMessage[]): Promise<readonly number[]> {
    for (const message of messages) {
      if (message.kind === 'work') {
        this.enqueue(JSON.parse(message.payload) as WorkMessage, 1, 0, message.traceContext);
        continue;
      }
      const status = JSON.parse(message.payload) as StatusMessage;
      this.statuses.push(status);
      if (this.statuses.length > this.keep) this.statuses.shift();
      for (const listener of this.listeners) {
        try {
          listener(status);
        } catch (error) {
          this.logger.warn(`a status listener threw: ${error}`);
        }
      }
    }
    return messages.map((m) => m.id);
  }

  /** Calls `listener` with every status message published from now on; returns the unsubscribe. */
  onStatus(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The latest status messages, oldest first. */
  recent(): readonly StatusMessage[] {
    return [...this.statuses];
  }

  deadLetters(): readonly DeadLetter[] {
    return [...this.dead];
  }

  /** True when no work is queued, waiting for a retry or being handled. */
  get idle(): boolean {
    return this.pending.length === 0 && this.timers.size === 0 && this.running === 0;
  }

  async start(handler: WorkHandler, onDeadLetter: (work: WorkMessage, reason: string, attempts: number) => Promise<void>): Promise<void> {
    this.handler = handler;
    this.onDeadLetter = onDeadLetter;
    for (const { work, attempt, traceContext } of this.pending.splice(0)) this.enqueue(work, attempt, 0, traceContext);
  }

  async stop(): Promise<void> {
    this.handler = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private enqueue(work: WorkMessage, attempt: number, delayMs = 0, traceContext?: TraceCarrier): void {
    if (!this.handler) {
      this.pending.push({ work, attempt, traceContext });
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.deliver(work, attempt, traceContext);
    }, delayMs);
    this.timers.add(timer);
  }

  private async deliver(work: WorkMessage, attempt: number, traceContext?: TraceCarrier): Promise<void> {
    const handler = this.handler;
    if (!handler) {
      this.pending.push({ work, attempt, traceContext });
      return;
    }
    this.running++;
    try {
      const verdict = await handler(work, attempt, traceContext).catch((error: unknown) => ({ outcome: 'retry' as const, reason: String(error) }));
      const next = redeliveryOf(verdict, attempt, this.retryDelaysMs);
      if (next.action === 'ack') return;
      // With no retry delays configured, a wait holds the work a second before it goes again.
      if (next.action === 'again') return this.enqueue(work, next.attempt, this.retryDelaysMs[next.delay] ?? 1_000, traceContext);
      this.dead.push({ work, reason: next.reason });
      await this.onDeadLetter?.(work, next.reason, attempt).catch((error: unknown) => this.logger.warn(`dead letter of ${work.messageId}: ${error}`));
    } finally {
      this.running--;
    }
  }
}
