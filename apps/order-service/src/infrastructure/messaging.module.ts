import { Inject, Module, OnApplicationShutdown, type DynamicModule } from '@nestjs/common';
import { AmqpMessaging } from '@order-fsm/core';
import type { ServiceConfig } from '../config/service-config.js';

export const AMQP = Symbol('taxi:amqp');

/**
 * The RabbitMQ connection of the service (status messages out, automatic work in). It connects in the
 * background and reconnects by itself: the service starts, and keeps committing, while the broker is down.
 */
@Module({})
export class MessagingModule implements OnApplicationShutdown {
  constructor(@Inject(AMQP) private readonly messaging: AmqpMessaging) {}

  static register(config: ServiceConfig): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        {
          provide: AMQP,
          useFactory: () =>
            new AmqpMessaging(config.amqpUrl, {
              prefix: config.amqpPrefix,
              retryDelaysMs: config.workerRetryDelaysMs,
              prefetch: config.workerPrefetch,
            }),
        },
      ],
      exports: [AMQP],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.messaging.close();
  }
}
