import { Inject, Injectable } from '@nestjs/common';
import { DependencyUnavailableError, OrderFsmEngine } from '@order-fsm/core';
import type { Redis } from 'ioredis';
import { REDIS } from '../infrastructure/redis.module.js';
import { RIDE_FINISHED_STATES } from './taxi.model.js';

const SLOT_TTL_S = 7 * 24 * 3600;
/** A holder whose order never committed (its process died mid-create) is stale after this. */
const UNCOMMITTED_HOLDER_STALE_MS = 60_000;

// Compare-and-set and compare-and-delete: only the holder's own value is replaced or removed.
const REPLACE_IF = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) end return false`;
const DELETE_IF_HELD_BY = `local v = redis.call('get', KEYS[1]) if v and string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ' then return redis.call('del', KEYS[1]) end return 0`;

/**
 * One unfinished ride per passenger, held in Redis: `taxi:passenger-active:{passengerId}` holds
 * "{orderId} {heldAtMs}" from create until the ride is paid, closed or cancelled.
 */
@Injectable()
export class PassengerSlots {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly engine: OrderFsmEngine,
  ) {}

  /** True when the slot is now held for `orderId`. */
  async hold(passengerId: string, orderId: string): Promise<boolean> {
    const key = this.key(passengerId);
    const value = `${orderId} ${Date.now()}`;
    try {
      if ((await this.redis.set(key, value, 'EX', SLOT_TTL_S, 'NX')) === 'OK') return true;
      const current = await this.redis.get(key);
      if (current === null) return (await this.redis.set(key, value, 'EX', SLOT_TTL_S, 'NX')) === 'OK';
      if (!(await this.isStale(current))) return false;
      return (await this.redis.eval(REPLACE_IF, 1, key, current, value, SLOT_TTL_S)) === 'OK';
    } catch (error) {
      throw new DependencyUnavailableError('redis', error);
    }
  }

  /** Frees the slot if `orderId` holds it. */
  async free(passengerId: string, orderId: string): Promise<void> {
    try {
      await this.redis.eval(DELETE_IF_HELD_BY, 1, this.key(passengerId), orderId);
    } catch (error) {
      throw new DependencyUnavailableError('redis', error);
    }
  }

  /** A holder is stale when its ride is over (a free that was lost) or it never committed. */
  private async isStale(current: string): Promise<boolean> {
    const [holderId, heldAt] = current.split(' ');
    const holder = await this.engine.findOrder(holderId);
    if (holder) return RIDE_FINISHED_STATES.has(holder.state);
    return Date.now() - Number(heldAt) > UNCOMMITTED_HOLDER_STALE_MS;
  }

  private key(passengerId: string): string {
    return `taxi:passenger-active:${passengerId}`;
  }
}
