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
 * One unfinished ride per passenger, from create until the ride is paid, closed or cancelled. The
 * processors depend on this class; the service provides the Redis one, or the in-process one when it
 * runs embedded.
 */
export abstract class PassengerSlots {
  constructor(protected readonly engine: OrderFsmEngine) {}

  /** True when the slot is now held for `orderId`. */
  abstract hold(passengerId: string, orderId: string): Promise<boolean>;

  /** Frees the slot if `orderId` holds it. */
  abstract free(passengerId: string, orderId: string): Promise<void>;

  /** A holder is stale when its ride is over (a free that was lost) or it never committed. */
  protected async isStale(holderId: string, heldAt: number): Promise<boolean> {
    const holder = await this.engine.findOrder(holderId);
    if (holder) return RIDE_FINISHED_STATES.has(holder.state);
    return Date.now() - heldAt > UNCOMMITTED_HOLDER_STALE_MS;
  }
}

/** The slots in Redis: `taxi:passenger-active:{passengerId}` holds "{orderId} {heldAtMs}". */
@Injectable()
export class RedisPassengerSlots extends PassengerSlots {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    engine: OrderFsmEngine,
  ) {
    super(engine);
  }

  async hold(passengerId: string, orderId: string): Promise<boolean> {
    const key = this.key(passengerId);
    const value = `${orderId} ${Date.now()}`;
    try {
      if ((await this.redis.set(key, value, 'EX', SLOT_TTL_S, 'NX')) === 'OK') return true;
      const current = await this.redis.get(key);
      if (current === null) return (await this.redis.set(key, value, 'EX', SLOT_TTL_S, 'NX')) === 'OK';
      const [holderId, heldAt] = current.split(' ');
      if (!(await this.isStale(holderId, Number(heldAt)))) return false;
      return (await this.redis.eval(REPLACE_IF, 1, key, current, value, SLOT_TTL_S)) === 'OK';
    } catch (error) {
      throw new DependencyUnavailableError('redis', error);
    }
  }

  async free(passengerId: string, orderId: string): Promise<void> {
    try {
      await this.redis.eval(DELETE_IF_HELD_BY, 1, this.key(passengerId), orderId);
    } catch (error) {
      throw new DependencyUnavailableError('redis', error);
    }
  }

  private key(passengerId: string): string {
    return `taxi:passenger-active:${passengerId}`;
  }
}

/** The slots in this process's memory: the embedded first run, one instance. */
@Injectable()
export class InProcessPassengerSlots extends PassengerSlots {
  private readonly holders = new Map<string, { orderId: string; heldAt: number }>();

  constructor(engine: OrderFsmEngine) {
    super(engine);
  }

  async hold(passengerId: string, orderId: string): Promise<boolean> {
    const current = this.holders.get(passengerId);
    if (current && !(await this.isStale(current.orderId, current.heldAt))) return false;
    // Checked again after the await: another create may have taken it meanwhile.
    const now = this.holders.get(passengerId);
    if (now !== current) return false;
    this.holders.set(passengerId, { orderId, heldAt: Date.now() });
    return true;
  }

  async free(passengerId: string, orderId: string): Promise<void> {
    if (this.holders.get(passengerId)?.orderId === orderId) this.holders.delete(passengerId);
  }
}
