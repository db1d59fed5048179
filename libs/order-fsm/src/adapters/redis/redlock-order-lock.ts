import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
// redlock 4.2 is the current stable release; 5.x has stayed a beta since 2022 with open bugs in
// lock extension and expiry. It renews the lock (its token-checked script) and reckons the lease's
// end. The take (a `SET NX PX`, what redlock's lock script does for one key on one server, without
// the script, and without the unlock round trip redlock sends after a refused attempt), the release
// (the same token check as redlock's, with the wake-up in the same command), the queue of this
// process's waiters, the handoffs and the wake-ups are this adapter's.
import Redlock from 'redlock';
import { DependencyUnavailableError, OrderBusyError } from '../../errors/order-fsm.errors.js';
import type { LockGrant, OrderLock, OrderLockHandle } from '../../ports/order-lock.js';

export interface RedlockOrderLockOptions {
  /** How long a lock lives if its holder never releases it (the lease). Default 10 s. */
  ttlMs?: number;
  /** How long a caller waits for a busy order before ORDER_BUSY. Default 2 s. */
  waitMs?: number;
  /**
   * How often a waiter tries again when no release woke it (a wake lost, or a holder that died and
   * whose lease expired). A release wakes waiters at once; this is only the fallback. Default 100 ms
   * (with ±25% jitter).
   */
  retryDelayMs?: number;
  /** Prefix of the Redis keys; a lock's wake-up channel is its key with `:released` appended. Default `order-fsm:lock:`. */
  keyPrefix?: string;
  /**
   * How many times in a row the order passes from one waiter of this process to the next without
   * going through Redis, before it is let go so that a waiter of another process can take it. Default 16.
   */
  maxLocalHandoffs?: number;
}

/**
 * After maxLocalHandoffs: lets the order go if a waiter outside this process listens (more
 * subscribers than ARGV[3], this process's own), else renews the lease and keeps it. 1 let go, 0 kept, -1 lost.
 */
const YIELD =
  "if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end " +
  "if redis.call('publish', KEYS[2], '') > tonumber(ARGV[3]) then redis.call('del', KEYS[1]) return 1 end " +
  "redis.call('pexpire', KEYS[1], ARGV[2]) return 0";

/**
 * Releases the order to Redis in one command: deletes the key if it still holds this holder's token
 * (as redlock's own unlock script does) and wakes the waiters of other processes. 1 released, 0 no
 * longer held (the lease ran out and the key is gone or another's).
 */
const RELEASE =
  "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end " +
  "redis.call('del', KEYS[1]) redis.call('publish', KEYS[2], '') return 1";

/** Tokens drawn from the system's random source at a time (16 bytes each). */
const TOKENS_PER_DRAW = 256;

/**
 * Lock tokens as redlock makes them (16 random bytes, in hex), from a pool refilled TOKENS_PER_DRAW
 * at a time: redlock asks the system's random source once per lock, which cost about 2% of the
 * service's CPU on the REST path. A token is used once, and never leaves this process but to Redis.
 */
export function lockTokenSource(): () => string {
  let pool = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at === pool.length) {
      pool = randomBytes(16 * TOKENS_PER_DRAW);
      at = 0;
    }
    at += 16;
    return pool.toString('hex', at - 16, at);
  };
}

/** Clock drift and the round trip allowed for when a lease's end is reckoned locally. */
const DRIFT_FACTOR = 0.01;
/** After letting the order go to another process, how long this process's next waiter holds back before trying. */
const YIELD_GRACE_MS = 20;

interface Waiter {
  readonly grant: (handle: OrderLockHandle) => void;
  readonly fail: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** This process's side of one order's lock: its waiters in arrival order, and the lease while held here. */
interface KeyState {
  readonly orderId: string;
  readonly key: string;
  readonly channel: string;
  readonly waiters: Waiter[];
  /** A waiter of this process holds the order (or its release is on its way to Redis). */
  held: boolean;
  /** The head of `waiters` is trying Redis for it. */
  contending: boolean;
  /** redlock's lock while this process holds the order: its token (`value`) and the lease's end (`expiration`). */
  lock?: Redlock.Lock;
  /** Handoffs in a row inside this process since the order was taken from Redis. */
  handoffs: number;
  /** Ends the contender's wait at once (a release was published). */
  wake?: () => void;
  /** A release was published since the contender's last try began: the next try goes at once, without a wait. */
  woken: boolean;
}

/**
 * The per-order lock on Redis. Give it an ioredis client created with `enableOfflineQueue: false`,
 * so that a Redis outage fails fast (DEPENDENCY_UNAVAILABLE) instead of queueing commands.
 *
 * Waiters for one order in this process queue in arrival order, and only the first of them tries
 * Redis. A release hands the order to the next waiter here directly, without a Redis round trip
 * (the key stays held by this process, its lease renewed when less than half of it is left), at most
 * `maxLocalHandoffs` times in a row; then the order is let go if another process waits for it. A
 * release to Redis deletes the key with a token check and publishes on the key's channel in one
 * script (one Redis command, as the lock's take is), which wakes
 * the waiters of other processes at once (they listen on a second connection, `redis.duplicate()`,
 * made the first time a waiter has to wait); they also try again every `retryDelayMs`, so that a lost
 * wake, or the lease of a holder that died, costs at most that. A try is one `SET key token PX ttl
 * NX`; redlock 4.2 renews the lease of a lock so taken.
 */
export class RedlockOrderLock implements OrderLock {
  private readonly logger = new Logger(RedlockOrderLock.name);
  private readonly redlock: Redlock;
  private readonly token: () => string;
  private readonly ttlMs: number;
  private readonly waitMs: number;
  private readonly retryDelayMs: number;
  private readonly keyPrefix: string;
  private readonly maxLocalHandoffs: number;
  private readonly keys = new Map<string, KeyState>();
  private subscriber?: Redis;
  /** Channels subscribed on `subscriber`, or being subscribed. */
  private readonly channels = new Map<string, Promise<boolean>>();

  constructor(
    private readonly redis: Redis,
    options: RedlockOrderLockOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.waitMs = options.waitMs ?? 2_000;
    this.retryDelayMs = Math.max(1, options.retryDelayMs ?? 100);
    this.keyPrefix = options.keyPrefix ?? 'order-fsm:lock:';
    this.maxLocalHandoffs = Math.max(0, options.maxLocalHandoffs ?? 16);
    // One attempt per call: the waiting (queue, wake-ups, fallback retries) is this adapter's.
    this.redlock = new Redlock([redis], { driftFactor: DRIFT_FACTOR, retryCount: 0, retryDelay: 0, retryJitter: 0 });
    this.token = lockTokenSource();
    // An extension's connection error surfaces as its failure (the lease is then let go); this only keeps it off the default 'error' path.
    this.redlock.on('clientError', () => undefined);
  }

  acquire(orderId: string): Promise<OrderLockHandle> {
    // Not connected: answer at once rather than spend the whole wait retrying a dead connection.
    if (this.redis.status !== 'ready') return Promise.reject(new DependencyUnavailableError('redis'));
    let state = this.keys.get(orderId);
    if (!state) {
      const key = this.keyPrefix + orderId;
      state = { orderId, key, channel: `${key}:released`, waiters: [], held: false, contending: false, handoffs: 0, woken: false };
      this.keys.set(orderId, state);
    }
    const started = Date.now();
    const keyState = state;
    const promise = new Promise<OrderLockHandle>((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        fail: (error) => {
          clearTimeout(waiter.timer);
          reject(error);
        },
        timer: setTimeout(() => {
          const at = keyState.waiters.indexOf(waiter);
          if (at >= 0) keyState.waiters.splice(at, 1);
          keyState.wake?.();
          this.forgetIfIdle(keyState);
          reject(new OrderBusyError(orderId, Date.now() - started));
        }, this.waitMs),
      };
      keyState.waiters.push(waiter);
    });
    if (!state.held && !state.contending) void this.contend(state, false);
    return promise;
  }

  /** Orders this process holds or waits for right now (a test can assert that nothing is left). */
  get tracked(): number {
    return this.keys.size;
  }

  /** Tries Redis for the head of the queue until it gets the order, every waiter has gone, or Redis fails. */
  private async contend(state: KeyState, yielded: boolean): Promise<void> {
    state.contending = true;
    let subscribed = false;
    try {
      if (yielded) {
        subscribed = await this.subscribe(state.channel);
        await this.pause(state, YIELD_GRACE_MS);
      }
      while (state.waiters.length > 0) {
        let lock: Redlock.Lock | null;
        state.woken = false;
        try {
          lock = await this.attempt(state);
        } catch (error) {
          for (const waiter of state.waiters.splice(0)) waiter.fail(new DependencyUnavailableError('redis', error));
          return;
        }
        if (lock) {
          this.take(state, lock);
          return;
        }
        // Listen before the next try, so that a release between the two is not missed.
        if (!subscribed) {
          const asked = Date.now();
          subscribed = await this.subscribe(state.channel);
          // Subscribed, or a retry's time spent waiting for the connection: try again at once.
          if (subscribed || Date.now() - asked >= this.retryDelayMs / 2) continue;
        }
        // Every waiter may have gone (its waitMs) while the attempt was on its way: then there is nothing to wait for.
        if (state.waiters.length === 0) break;
        // Released while the refused try was on its way back: no wake will come for that release any more.
        if (state.woken) continue;
        const jitter = Math.floor(this.retryDelayMs / 4);
        await this.pause(state, this.retryDelayMs - jitter + Math.floor(Math.random() * (2 * jitter + 1)));
      }
    } finally {
      state.contending = false;
      if (subscribed) this.unsubscribe(state.channel);
      this.forgetIfIdle(state);
    }
  }

  /**
   * One try at the key: `SET key token PX ttl NX`. The lock when taken (its lease's end reckoned
   * from the moment the command was sent, less the drift, as redlock reckons it); null when another
   * holds it. Throws what Redis answered when it could not be asked.
   */
  private async attempt(state: KeyState): Promise<Redlock.Lock | null> {
    const value = this.token();
    const sent = Date.now();
    if ((await this.redis.set(state.key, value, 'PX', this.ttlMs, 'NX')) !== 'OK') return null;
    const expiration = sent + this.ttlMs - Math.round(DRIFT_FACTOR * this.ttlMs) - 2;
    if (expiration <= Date.now()) {
      // The answer came after the lease could have ended: the key may already be another's. Given
      // back (only if still this token's), and tried again, as redlock does; a give-back that fails
      // is left to the lease, as redlock leaves it.
      await this.redis.eval(RELEASE, 2, state.key, state.channel, value).catch(() => undefined);
      return null;
    }
    // redlock's own lock object, so that redlock renews it (extend) as one it had taken.
    return new Redlock.Lock(this.redlock, [state.key], value, expiration, 1, 0);
  }

  /** The key is this process's: the first waiter gets it, or, if all of them have gone meanwhile, it is released. */
  private take(state: KeyState, lock: Redlock.Lock): void {
    state.held = true;
    state.lock = lock;
    state.handoffs = 0;
    const next = state.waiters.shift();
    if (next) this.grant(state, next, 'acquired');
    else void this.releaseToRedis(state);
  }

  private grant(state: KeyState, waiter: Waiter, grant: LockGrant): void {
    clearTimeout(waiter.timer);
    const lock = state.lock;
    let released = false;
    waiter.grant({
      grant,
      release: async () => {
        if (released || state.lock?.value !== lock?.value || !state.held) return;
        released = true;
        await this.passOn(state);
      },
    });
  }

  /** A holder of this process is done: the next waiter here, or Redis. */
  private async passOn(state: KeyState): Promise<void> {
    if (state.waiters.length === 0) return this.releaseToRedis(state);
    if (state.handoffs < this.maxLocalHandoffs) {
      if (state.lock!.expiration - Date.now() < this.ttlMs / 2 && !(await this.extend(state))) return;
      if (state.waiters.length === 0) return this.releaseToRedis(state);
      state.handoffs++;
      this.grant(state, state.waiters.shift()!, 'handed_off');
      return;
    }
    // Enough handoffs in a row: a waiter of another process, if there is one, gets its turn. This
    // process stopped listening when it took the order, so every listener is another's waiter.
    const sent = Date.now();
    let outcome: number;
    try {
      outcome = Number(await this.redis.eval(YIELD, 2, state.key, state.channel, state.lock!.value, this.ttlMs, this.channels.has(state.channel) ? 1 : 0));
    } catch (error) {
      this.logger.warn(`could not pass on the lock of order ${state.orderId}; it expires within ${this.ttlMs} ms: ${error}`);
      outcome = -1;
    }
    if (outcome === 0 && state.waiters.length > 0) {
      // Kept, its lease renewed by the script: redlock's lock says until when, as its own extend would.
      state.lock!.expiration = sent + this.ttlMs - Math.round(DRIFT_FACTOR * this.ttlMs) - 2;
      state.handoffs = 0;
      this.grant(state, state.waiters.shift()!, 'handed_off');
      return;
    }
    if (outcome === 0) return this.releaseToRedis(state);
    // Let go (1) or lost (-1): this process's waiters try Redis like anyone else.
    state.held = false;
    state.lock = undefined;
    if (state.waiters.length > 0) void this.contend(state, outcome === 1);
    else this.forgetIfIdle(state);
  }

  /** Renews the lease before a handoff. False when it was lost: the next waiter then tries Redis. */
  private async extend(state: KeyState): Promise<boolean> {
    try {
      state.lock = await state.lock!.extend(this.ttlMs);
      return true;
    } catch (error) {
      this.logger.warn(`could not renew the lock of order ${state.orderId}: ${error}`);
    }
    state.held = false;
    state.lock = undefined;
    if (state.waiters.length > 0 && !state.contending) void this.contend(state, false);
    return false;
  }

  private async releaseToRedis(state: KeyState): Promise<void> {
    const lock = state.lock;
    try {
      // The key goes only if it still holds this holder's token, and the waiters of other processes are woken.
      if (lock && Number(await this.redis.eval(RELEASE, 2, state.key, state.channel, lock.value)) !== 1) {
        this.logger.warn(`the lock of order ${state.orderId} had expired before its release (its lease is ${this.ttlMs} ms)`);
      }
    } catch (error) {
      this.logger.warn(`could not release the lock of order ${state.orderId}; it expires within ${this.ttlMs} ms: ${error}`);
    } finally {
      state.held = false;
      state.lock = undefined;
      // Callers that came while the release was on its way queued behind it.
      if (state.waiters.length > 0 && !state.contending) void this.contend(state, false);
      else this.forgetIfIdle(state);
    }
  }

  private forgetIfIdle(state: KeyState): void {
    if (!state.held && !state.contending && state.waiters.length === 0 && this.keys.get(state.orderId) === state) this.keys.delete(state.orderId);
  }

  /** Waits `ms`, or less when a release is published or the waiters are gone. */
  private pause(state: KeyState, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (state.wake === done) state.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      state.wake = done;
    });
  }

  /** Listens on a channel; false if it cannot (the waiter then relies on its retries alone). */
  private subscribe(channel: string): Promise<boolean> {
    const pending = this.channels.get(channel);
    if (pending) return pending;
    const subscriber = this.subscriberConnection();
    const subscribing = this.ready(subscriber)
      .then((ready) => (ready ? subscriber.subscribe(channel).then(() => true) : false))
      .catch(() => false)
      .then((ok) => {
        if (!ok && this.channels.get(channel) === subscribing) this.channels.delete(channel);
        return ok;
      });
    this.channels.set(channel, subscribing);
    return subscribing;
  }

  /** The wake-up connection ready, waiting for it no longer than one retry would (it is made on first need). */
  private ready(subscriber: Redis): Promise<boolean> {
    if (subscriber.status === 'ready') return Promise.resolve(true);
    if (subscriber.status === 'end' || subscriber.status === 'close') return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        subscriber.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), this.retryDelayMs);
      subscriber.once('ready', onReady);
    });
  }

  private unsubscribe(channel: string): void {
    const pending = this.channels.get(channel);
    if (!pending) return;
    this.channels.delete(channel);
    // Still wanted by another waiter of the same order by then: it subscribes again.
    void pending.then((ok) => (ok && !this.channels.has(channel) && this.subscriber?.status === 'ready' ? this.subscriber.unsubscribe(channel) : undefined)).catch(() => undefined);
  }

  /** The second connection, for SUBSCRIBE; made once, closed when the lock's own client ends. */
  private subscriberConnection(): Redis {
    if (this.subscriber) return this.subscriber;
    const subscriber = this.redis.duplicate();
    // A failing subscriber only costs the wake-ups: waiters still retry. Never an unhandled 'error'.
    subscriber.on('error', (error: Error) => this.logger.debug?.(`lock wake-up connection: ${error.message}`));
    subscriber.on('message', (channel: string) => {
      if (!channel.startsWith(this.keyPrefix)) return;
      const orderId = channel.slice(this.keyPrefix.length, -':released'.length);
      const state = this.keys.get(orderId);
      if (!state) return;
      state.woken = true;
      state.wake?.();
    });
    // Resubscribed by ioredis after a reconnection; the channels map is only a cache of intent.
    this.redis.once('end', () => {
      subscriber.disconnect();
      if (this.subscriber === subscriber) {
        this.subscriber = undefined;
        this.channels.clear();
      }
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  /** Closes the wake-up connection (it also closes by itself when the lock's client ends). */
  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.channels.clear();
  }
}
