import { Inject, Logger, Module, OnApplicationShutdown, type DynamicModule } from '@nestjs/common';
import { Redis } from 'ioredis';

export const REDIS = Symbol('taxi:redis');

/**
 * One ioredis client for the service. Commands fail fast while Redis is down (no offline queue), so a
 * request that needs it answers 503 instead of hanging; the client reconnects by itself.
 */
@Module({})
export class RedisModule implements OnApplicationShutdown {
  private static readonly logger = new Logger('Redis');

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  static register(url: string, readyTimeoutMs: number): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: REDIS,
          useFactory: async () => {
            const redis = new Redis(url, {
              enableOfflineQueue: false,
              maxRetriesPerRequest: 1,
              connectTimeout: 2_000,
              retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
            });
            redis.on('error', (error) => RedisModule.logger.warn(`redis: ${error.message}`));
            await RedisModule.waitReady(redis, readyTimeoutMs);
            return redis;
          },
        },
      ],
      exports: [REDIS],
    };
  }

  private static waitReady(redis: Redis, timeoutMs: number): Promise<void> {
    if (redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        redis.off('ready', onReady);
        RedisModule.logger.warn(`redis not ready after ${timeoutMs} ms; serving without it until it comes back`);
        resolve();
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      redis.once('ready', onReady);
    });
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
