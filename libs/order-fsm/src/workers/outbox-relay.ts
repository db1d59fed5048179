import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CommitSignal } from '../engine/commit-signal.js';
import { ORDER_FSM_OPTIONS, ORDER_STORE } from '../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { ClaimedMessage, OrderStore } from '../ports/order-store.js';
import type { MessagePublisher } from '../ports/message-broker.js';
import type { OrderFsmTracing } from '../ports/tracing.js';
import { BackgroundLoop } from './background-loop.js';

const PURGE_BATCH = 5_000;

/** The span of one message's publish, until the broker acknowledged it (or did not). */
export const PUBLISH_SPAN = 'order-fsm.publish';

/**
 * Publishes with a span per message, a child of the transaction that wrote it (the context its row
 * stored): the message carries the publish span's context on in its headers, so its consumer
 * continues the same trace. A message the broker did not acknowledge ends its span failed.
 */
async function publishTraced(tracing: OrderFsmTracing, publisher: MessagePublisher, messages: readonly ClaimedMessage[]): Promise<readonly number[]> {
  const spans = messages.map((m) =>
    tracing.startSpan(
      PUBLISH_SPAN,
      'producer',
      { 'messaging.operation.type': 'send', 'messaging.message.id': m.messageId, 'order_fsm.message.kind': m.kind, 'order_fsm.routing_key': m.routingKey, 'order_fsm.order_id': m.orderId },
      m.traceContext,
    ),
  );
  let acked: ReadonlySet<number> = new Set();
  try {
    acked = new Set(await publisher.publish(messages.map((m, i) => ({ ...m, traceContext: spans[i].carrier() }))));
  } finally {
    messages.forEach((m, i) => {
      if (!acked.has(m.id)) spans[i].fail(new Error('not acknowledged by the broker: it stays in the outbox'));
      spans[i].end();
    });
  }
  return [...acked];
}

/**
 * Publishes the outbox: claims unpublished messages (several relays at once each get their own,
 * per order in version order), publishes them with confirms, marks them after the broker's ack.
 * Runs in every instance; a commit in this process wakes it at once. Purges old published rows.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly relayLoop: BackgroundLoop;
  private readonly purgeLoop: BackgroundLoop;

  constructor(
    @Inject(ORDER_FSM_OPTIONS) private readonly options: ResolvedOrderFsmOptions,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
    signal: CommitSignal,
  ) {
    const { relay, publisher, tracing } = options;
    this.relayLoop = new BackgroundLoop('outbox relay', this.logger, relay.pollIntervalMs, async () => {
      if (!publisher!.isConnected()) return false;
      const claimed = await this.store.relayOutbox(relay.batchSize, async (messages) => {
        const acked = tracing ? await publishTraced(tracing, publisher!, messages) : await publisher!.publish(messages);
        if (acked.length > 0) {
          const now = Date.now();
          const ids = new Set(acked);
          options.metrics.published(messages.filter((m) => ids.has(m.id)).map((m) => now - m.createdAt.getTime()));
        }
        return acked;
      });
      return claimed === relay.batchSize;
    });
    this.purgeLoop = new BackgroundLoop('outbox purge', this.logger, relay.purgeIntervalMs, async () => {
      const purged = await this.store.purgePublished(new Date(Date.now() - relay.retentionMs), PURGE_BATCH);
      return purged === PURGE_BATCH;
    });
    if (relay.enabled) signal.subscribe(() => this.relayLoop.wake());
  }

  onApplicationBootstrap(): void {
    if (!this.options.relay.enabled) return;
    this.relayLoop.start();
    this.purgeLoop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([this.relayLoop.stop(), this.purgeLoop.stop()]);
  }
}
