import { Inject, Module, OnApplicationShutdown, type DynamicModule } from '@nestjs/common';
import { type MessagePublisher, type WorkConsumer } from '@order-fsm/core';
import { AmqpMessaging } from '@order-fsm/core/amqp';
import { InProcessMessaging } from '@order-fsm/core/in-process';
import type { ServiceConfig } from '../config/service-config.js';

/** Where status messages go and automatic work comes from: RabbitMQ, or this process when embedded. */
export const MESSAGING = Symbol('taxi:messaging');
export type Messaging = MessagePublisher & WorkConsumer & { close?(): Promise<void> };

/**
 * The messaging of the service. With RabbitMQ it connects in the background and reconnects by
 * itself: the service starts, and keeps committing, while the broker is down.
 */
@Module({})
export class MessagingModule implements OnApplicationShutdown {
  constructor(@Inject(MESSAGING) private readonly messaging: Messaging) {}

  static register(config: ServiceConfig): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        {
          provide: MESSAGING,
          useFactory: (): Messaging =>
            config.mode === 'embedded'
              ? new InProcessMessaging({ retryDelaysMs: config.workerRetryDelaysMs })
              : new AmqpMessaging(config.amqpUrl, {
                  prefix: config.amqpPrefix,
                  retryDelaysMs: config.workerRetryDelaysMs,
                  prefetch: config.workerPrefetch,
                }),
        },
      ],
      exports: [MESSAGING],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await (this.messaging.close ? this.messaging.close() : this.messaging.stop());
  }
}
