import { Logger } from '@nestjs/common';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { TraceCarrier, WorkMessage } from '../../model/messages.js';
import type { ClaimedMessage } from '../../ports/order-store.js';
import type { MessagePublisher, WorkConsumer, WorkHandler } from '../../ports/message-broker.js';
import { redeliveryOf } from '../../ports/redelivery.js';

export interface AmqpMessagingOptions {
  /** Names are derived from it: `{prefix}.events`, `{prefix}.work`, `{prefix}.work.retry.N`, `{prefix}.work.dead`. Default `order-fsm`. */
  prefix?: string;
  /** Delays before the 2nd, 3rd, ... delivery of failing work. Default 1 s, 5 s, 25 s. */
  retryDelaysMs?: readonly number[];
  /** Unacknowledged work deliveries per consumer. Default 8. */
  prefetch?: number;
  /** How long a publish may wait for the broker's confirm. Default 5 s. */
  publishTimeoutMs?: number;
  heartbeatIntervalInSeconds?: number;
  reconnectTimeInSeconds?: number;
}

const ATTEMPT_HEADER = 'x-order-fsm-attempt';

/** The trace context a delivery's headers carry (traceparent, tracestate, ...): its string headers but the adapter's own. */
function traceContextOf(headers: Record<string, unknown> | undefined): TraceCarrier | undefined {
  let carrier: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value === 'string' && !name.startsWith('x-order-fsm-')) (carrier ??= {})[name] = value;
  }
  return carrier;
}

export interface AmqpTopology {
  readonly eventsExchange: string;
  readonly workExchange: string;
  readonly workQueue: string;
  readonly retryQueues: readonly string[];
  readonly deadQueue: string;
}

export function amqpTopology(prefix: string, retryCount: number): AmqpTopology {
  return {
    eventsExchange: `${prefix}.events`,
    workExchange: `${prefix}.work`,
    workQueue: `${prefix}.work`,
    retryQueues: Array.from({ length: retryCount }, (_, i) => `${prefix}.work.retry.${i + 1}`),
    deadQueue: `${prefix}.work.dead`,
  };
}

function isWorkMessage(value: unknown): value is WorkMessage {
  const w = value as Partial<WorkMessage> | null;
  return (
    !!w &&
    typeof w.orderId === 'string' &&
    typeof w.event === 'string' &&
    typeof w.state === 'string' &&
    typeof w.messageId === 'string' &&
    Number.isInteger(w.version)
  );
}

/**
 * RabbitMQ through amqp-connection-manager, which reconnects by itself and sets channels up again
 * after a broker restart. Status messages go to a topic exchange, persistent, with publisher
 * confirms; automatic work goes to a durable queue with TTL retry queues and a dead-letter queue.
 */
export class AmqpMessaging implements MessagePublisher, WorkConsumer {
  readonly topology: AmqpTopology;
  readonly maxAttempts: number;
  private readonly logger = new Logger(AmqpMessaging.name);
  private readonly connection: AmqpConnectionManager;
  private readonly publisher: ChannelWrapper;
  private consumer?: ChannelWrapper;
  readonly retryDelaysMs: readonly number[];
  private readonly prefetch: number;

  constructor(url: string, options: AmqpMessagingOptions = {}) {
    this.retryDelaysMs = options.retryDelaysMs ?? [1_000, 5_000, 25_000];
    this.maxAttempts = this.retryDelaysMs.length + 1;
    this.prefetch = options.prefetch ?? 8;
    this.topology = amqpTopology(options.prefix ?? 'order-fsm', this.retryDelaysMs.length);
    this.connection = amqp.connect([url], {
      heartbeatIntervalInSeconds: options.heartbeatIntervalInSeconds ?? 5,
      reconnectTimeInSeconds: options.reconnectTimeInSeconds ?? 1,
    });
    this.connection.on('connect', () => this.logger.log('connected to RabbitMQ'));
    this.connection.on('disconnect', ({ err }) => this.logger.warn(`RabbitMQ connection lost: ${err?.message ?? 'closed'}`));
    this.publisher = this.connection.createChannel({
      name: 'order-fsm-publisher',
      confirm: true,
      publishTimeout: options.publishTimeoutMs ?? 5_000,
      setup: (channel: ConfirmChannel) => this.declare(channel),
    });
    // A setup interrupted by a disconnect (or by close()) is retried on the next connect.
    this.publisher.on('error', (error) => this.logger.warn(`publisher channel: ${error.message}`));
  }

  isConnected(): boolean {
    return this.connection.isConnected();
  }

  async publish(messages: readonly ClaimedMessage[]): Promise<readonly number[]> {
    const settled = await Promise.allSettled(
      messages.map((m) =>
        this.publisher.publish(
          m.kind === 'work' ? this.topology.workExchange : this.topology.eventsExchange,
          m.routingKey,
          Buffer.from(m.payload),
          {
            persistent: true,
            messageId: m.messageId,
            contentType: 'application/json',
            type: m.kind,
            timestamp: Math.floor(Date.now() / 1000),
            ...(m.traceContext && { headers: { ...m.traceContext } }),
          },
        ),
      ),
    );
    const acked: number[] = [];
    settled.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') acked.push(messages[i].id);
    });
    if (acked.length < messages.length) this.logger.warn(`${messages.length - acked.length} of ${messages.length} messages were not confirmed; they stay in the outbox`);
    return acked;
  }

  async start(handler: WorkHandler, onDeadLetter: (work: WorkMessage, reason: string, attempts: number) => Promise<void>): Promise<void> {
    const consumer = this.connection.createChannel({
      name: 'order-fsm-worker',
      confirm: true,
      // The prefetch is set here, awaited, and not through consume()'s `prefetch` option: the
      // wrapper fires that one without awaiting it, so a channel closed before the broker answers
      // (a shutdown or a broker restart during setup) left an unhandled rejection that ends the process.
      setup: async (channel: ConfirmChannel) => {
        await this.declare(channel);
        await channel.prefetch(this.prefetch, false);
      },
    });
    consumer.on('error', (error) => this.logger.warn(`worker channel: ${error.message}`));
    this.consumer = consumer;
    await consumer.consume(this.topology.workQueue, (message) => void this.deliver(consumer, message, handler, onDeadLetter));
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) {
      await consumer.cancelAll().catch(() => undefined);
      await consumer.close().catch(() => undefined);
    }
  }

  /** Closes channels and the connection; a channel still being set up must not make shutdown fail. */
  async close(): Promise<void> {
    await this.stop();
    await this.publisher.close().catch(() => undefined);
    await this.connection.close().catch((error: Error) => this.logger.warn(`closing the RabbitMQ connection: ${error.message}`));
  }

  private async declare(channel: ConfirmChannel): Promise<void> {
    const t = this.topology;
    await channel.assertExchange(t.eventsExchange, 'topic', { durable: true });
    await channel.assertExchange(t.workExchange, 'direct', { durable: true });
    await channel.assertQueue(t.workQueue, { durable: true });
    await channel.bindQueue(t.workQueue, t.workExchange, 'work');
    for (const [i, queue] of t.retryQueues.entries()) {
      await channel.assertQueue(queue, {
        durable: true,
        arguments: { 'x-message-ttl': this.retryDelaysMs[i], 'x-dead-letter-exchange': t.workExchange, 'x-dead-letter-routing-key': 'work' },
      });
    }
    await channel.assertQueue(t.deadQueue, { durable: true });
  }

  private async deliver(
    channel: ChannelWrapper,
    message: ConsumeMessage,
    handler: WorkHandler,
    onDeadLetter: (work: WorkMessage, reason: string, attempts: number) => Promise<void>,
  ): Promise<void> {
    const attempt = Number(message.properties.headers?.[ATTEMPT_HEADER] ?? 1);
    let work: unknown;
    try {
      work = JSON.parse(message.content.toString('utf8'));
    } catch {
      work = undefined;
    }
    try {
      if (!isWorkMessage(work)) {
        await this.deadLetter(channel, message, 'malformed work message', attempt);
      } else {
        const traceContext = traceContextOf(message.properties.headers);
        const verdict = await handler(work, attempt, traceContext);
        const next = redeliveryOf(verdict, attempt, this.retryDelaysMs);
        if (next.action === 'again') {
          const queue = this.topology.retryQueues[next.delay];
          if (queue === undefined) {
            // No retry delays configured: hold the delivery a second before it goes back.
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            channel.nack(message, false, true);
            return;
          }
          await channel.sendToQueue(queue, message.content, {
            persistent: true,
            messageId: message.properties.messageId,
            contentType: 'application/json',
            headers: { ...traceContext, [ATTEMPT_HEADER]: next.attempt, 'x-order-fsm-last-error': verdict.outcome === 'done' ? '' : verdict.reason.slice(0, 512) },
          });
        } else if (next.action === 'dead') {
          const reason = next.reason;
          await this.deadLetter(channel, message, reason, attempt);
          await onDeadLetter(work, reason, attempt).catch((error) => this.logger.error(`recording the dead letter of order ${work.orderId} failed: ${error}`));
        }
      }
      channel.ack(message);
    } catch (error) {
      // Settling failed (the broker went away): leave the delivery unacknowledged; it comes back.
      this.logger.warn(`work ${message.properties.messageId} not settled, it will be redelivered: ${error}`);
      channel.nack(message, false, true);
    }
  }

  private async deadLetter(channel: ChannelWrapper, message: ConsumeMessage, reason: string, attempt: number): Promise<void> {
    this.logger.error(`work ${message.properties.messageId} dead-lettered after ${attempt} attempt(s): ${reason}`);
    await channel.sendToQueue(this.topology.deadQueue, message.content, {
      persistent: true,
      messageId: message.properties.messageId,
      contentType: 'application/json',
      headers: { [ATTEMPT_HEADER]: attempt, 'x-order-fsm-reason': reason.slice(0, 512) },
    });
  }
}
