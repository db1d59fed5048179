import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { OrderLockHandle } from '@order-fsm/core';
import { RedlockOrderLock } from '@order-fsm/core/redis';
import { waitFor } from './support/broker.js';

// The Redis lock against a real Redis, each lock on its own connections as separate processes have them.
// Redis is shared: every test uses keys of its own under a prefix of this run.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `test-lock:${randomUUID().slice(0, 8)}:`;

const connect = async (url = REDIS_URL): Promise<Redis> => {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'acquired', (error: { code?: string }) => error.code ?? String(error));

describe('RedlockOrderLock on Redis', () => {
  const clients: Redis[] = [];
  /** A lock on a connection of its own, as another process would have it. */
  const lockOf = async (options: ConstructorParameters<typeof RedlockOrderLock>[1] = {}) => {
    const redis = await connect();
    clients.push(redis);
    return { redis, lock: new RedlockOrderLock(redis, { keyPrefix: PREFIX, ...options }) };
  };
  let admin: Redis;

  beforeAll(async () => {
    admin = await connect();
  });
  afterAll(async () => {
    const keys = await admin.keys(`${PREFIX}*`);
    if (keys.length > 0) await admin.del(...keys);
    await Promise.all([admin, ...clients].map((client) => client.quit()));
  });

  it('holds each order under a token of its own: 16 random bytes in hex, never one twice, past a refill of the pool they come from', async () => {
    const { lock } = await lockOf();
    const tokens = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const order = randomUUID();
      const handle = await lock.acquire(order);
      const token = await admin.get(PREFIX + order);
      expect(token).toMatch(/^[0-9a-f]{32}$/);
      tokens.add(token!);
      await handle.release();
      expect(await admin.get(PREFIX + order)).toBeNull();
    }
    expect(tokens.size).toBe(300);
  });

  it('takes an order in one command, and a refused try costs that one command alone, the holder untouched', async () => {
    const order = randomUUID();
    const key = PREFIX + order;
    const { lock: holder } = await lockOf({ ttlMs: 5_000 });
    // Long enough for several retries however slow the machine (each is a SET, seen by MONITOR).
    const { lock: waiter } = await lockOf({ waitMs: 2_000, retryDelayMs: 100 });
    const monitor = await admin.monitor();
    const sent: string[][] = [];
    // Every command that names this order's key, as Redis received it from the two locks (not the
    // test's own reads, nor the commands a script runs inside Redis).
    const mine = `:${admin.stream.localPort}`;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args.includes(key) && source !== 'lua' && !source.endsWith(mine)) sent.push(args.map((arg) => arg.toLowerCase()));
    });
    try {
      const held = await holder.acquire(order);
      const token = await admin.get(key);
      const ttl = await admin.pttl(key);
      // The lease is the one asked for, set with the token, in the same command.
      expect(ttl).toBeGreaterThan(4_000);
      expect(ttl).toBeLessThanOrEqual(5_000);
      expect(await codeOf(waiter.acquire(order))).toBe('ORDER_BUSY');
      await held.release();
      // The monitor's last line: the release.
      for (const deadline = Date.now() + 2_000; !sent.some(([command]) => command === 'eval') && Date.now() < deadline; ) await sleep(10);
      const takes = sent.filter(([command]) => command === 'set');
      // The holder's take and the waiter's first try and its retries: each a SET NX PX with a token of its own.
      expect(takes.length).toBeGreaterThanOrEqual(4);
      for (const take of takes) expect(take).toEqual(['set', key.toLowerCase(), expect.stringMatching(/^[0-9a-f]{32}$/), 'px', expect.stringMatching(/^\d+$/), 'nx']);
      expect(takes[0][2]).toBe(token);
      expect(new Set(takes.map((take) => take[2])).size).toBe(takes.length);
      // Nothing else touched the key while it was held: no script ran for a refused try (redlock's
      // own lock sends an unlock after each), and the holder's token was there until its release.
      const others = sent.filter(([command]) => command !== 'set');
      expect(others).toHaveLength(1);
      expect(others[0][0]).toBe('eval'); // the release: token check, delete and wake-up in one script
      expect(others[0]).toContain(token);
      expect(await admin.exists(key)).toBe(0);
    } finally {
      monitor.disconnect();
    }
  });

  it.each([16, 2])('serves the waiters of one process in arrival order (at most %i handoffs in a row)', async (maxLocalHandoffs) => {
    const order = randomUUID();
    const { lock: other } = await lockOf();
    const { lock } = await lockOf({ maxLocalHandoffs, waitMs: 10_000 });
    // Held by another process first, so that the first waiter here has to wait for Redis too.
    const first = await other.acquire(order);
    const served: number[] = [];
    const grants: Array<string | undefined> = [];
    const waiting = Array.from({ length: 10 }, (_, i) =>
      lock.acquire(order).then(async (handle) => {
        served.push(i);
        grants.push(handle.grant);
        await sleep(2);
        await handle.release();
      }),
    );
    await sleep(50);
    await first.release();
    await Promise.all(waiting);
    expect(served).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The first took it from Redis; the rest got it handed on here, but for the one after each run of maxLocalHandoffs,
    // when no other process waits: the lease renewed and kept, which is a handoff too.
    expect(grants[0]).toBe('acquired');
    expect(grants.slice(1)).toEqual(Array(9).fill('handed_off'));
    expect(lock.tracked).toBe(0);
    expect(await admin.exists(PREFIX + order)).toBe(0);
  });

  it('wakes a waiter of another process when the holder releases, instead of leaving it to its next retry', async () => {
    const order = randomUUID();
    const { lock: a } = await lockOf();
    // A retry every 10 s (7.5 s at the soonest, with its jitter): only the wake-up can hand it the order sooner.
    const { lock: b } = await lockOf({ retryDelayMs: 10_000, waitMs: 20_000 });
    const held = await a.acquire(order);
    let acquiredAt = 0;
    const waiter = b.acquire(order).then((handle) => {
      acquiredAt = performance.now();
      return handle;
    });
    // The waiter tried once and listens for the release.
    await waitFor('the waiter to listen', async () => Number(((await admin.pubsub('NUMSUB', `${PREFIX}${order}:released`)) as [string, number])[1]) === 1, 5_000, 20);
    expect(acquiredAt).toBe(0);
    const releasedAt = performance.now();
    await held.release();
    const handle = await waiter;
    // A generous bound on a busy machine, still well under the soonest retry.
    expect(acquiredAt - releasedAt).toBeLessThan(3_000);
    await handle.release();
  });

  it('does not lose a release published while its refused try was on its way back', async () => {
    const order = randomUUID();
    const { lock: a } = await lockOf();
    // Retries 10 s apart: a lost wake would cost the waiter at least 7.5 s.
    const { redis: rb, lock: b } = await lockOf({ retryDelayMs: 10_000, waitMs: 20_000 });
    const held = await a.acquire(order);
    // The waiter's second try (made at once after it subscribes) is refused by Redis, and the holder
    // releases before that refusal reaches the waiter: the release's wake-up lands in between.
    const set = rb.set.bind(rb) as (...args: unknown[]) => Promise<unknown>;
    let tries = 0;
    let releasedAt = 0;
    (rb as unknown as { set: (...args: unknown[]) => Promise<unknown> }).set = async (...args: unknown[]) => {
      const reply = await set(...args);
      if (++tries === 2) {
        expect(reply).toBeNull();
        releasedAt = performance.now();
        await held.release();
        await sleep(200); // the wake-up reaches the waiter's subscriber meanwhile
      }
      return reply;
    };
    const handle = await b.acquire(order);
    expect(tries).toBeGreaterThanOrEqual(3);
    expect(performance.now() - releasedAt).toBeLessThan(3_000);
    await handle.release();
  });

  it('lets a waiter in after the lease of a holder that never released (it died)', async () => {
    const order = randomUUID();
    const { lock } = await lockOf({ retryDelayMs: 50, waitMs: 5_000 });
    // The clock starts before the lease does: however long the test takes to ask, the lease is 300 ms from here at most.
    const started = Date.now();
    await admin.set(PREFIX + order, 'a-dead-holder', 'PX', 300);
    const handle = await lock.acquire(order);
    // Not before the lease ended: the key was the dead holder's until then.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await admin.get(PREFIX + order)).not.toBe('a-dead-holder');
    await handle.release();
    expect(await admin.exists(PREFIX + order)).toBe(0);
  });

  it('answers ORDER_BUSY after waitMs, to a waiter of another process and to one queued in the same process', async () => {
    const order = randomUUID();
    const { lock: a } = await lockOf({ waitMs: 300 });
    const { lock: b } = await lockOf({ waitMs: 300 });
    const held = await a.acquire(order);
    const started = Date.now();
    const [remote, local] = await Promise.all([codeOf(b.acquire(order)), codeOf(a.acquire(order))]);
    expect([remote, local]).toEqual(['ORDER_BUSY', 'ORDER_BUSY']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await held.release();
    // Both forget the order once its waiters are gone: at once when they were waiting, or when an
    // attempt that was on its way to Redis as they left comes back.
    for (const deadline = Date.now() + 2_000; a.tracked + b.tracked > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    expect([a.tracked, b.tracked]).toEqual([0, 0]);
    expect(await admin.exists(PREFIX + order)).toBe(0);
    // And the order is free again for anyone.
    await (await b.acquire(order)).release();
  });

  it('a holder whose lease ended does not release the lock of the next holder', async () => {
    const order = randomUUID();
    const { lock: a } = await lockOf({ ttlMs: 200 });
    const { lock: b } = await lockOf({ ttlMs: 10_000, retryDelayMs: 20 });
    const late = await a.acquire(order);
    const next = await b.acquire(order); // once a's lease has ended
    await late.release();
    expect(await admin.exists(PREFIX + order)).toBe(1);
    expect(await codeOf(a.acquire(order).then((h) => h.release()))).toBe('ORDER_BUSY');
    await next.release();
    expect(await admin.exists(PREFIX + order)).toBe(0);
  }, 20_000);

  it('renews the lease when it hands the order on in the same process: the next holder is never left without one', async () => {
    const order = randomUUID();
    const { lock } = await lockOf({ ttlMs: 4_000, waitMs: 10_000 });
    const { lock: other } = await lockOf({ waitMs: 150, retryDelayMs: 20 });
    const first = await lock.acquire(order);
    const second = lock.acquire(order);
    await sleep(2_500); // more than half of the lease gone
    await first.release();
    const handle = await second;
    await sleep(2_500); // past the first lease's end, inside the renewed one (1.5 s to spare)
    expect(await admin.pttl(PREFIX + order)).toBeGreaterThan(0);
    expect(await codeOf(other.acquire(order))).toBe('ORDER_BUSY');
    await handle.release();
    expect(await admin.exists(PREFIX + order)).toBe(0);
  });

  it('lets a waiter of another process in while this process keeps its queue full', async () => {
    const order = randomUUID();
    const { lock: busy } = await lockOf({ maxLocalHandoffs: 1, waitMs: 10_000 });
    const { lock: other } = await lockOf({ waitMs: 10_000, retryDelayMs: 5_000 });
    let stop = false;
    let localTurns = 0;
    // Four callers here, each back in the queue as soon as it is served, until the other process got in.
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const handle: OrderLockHandle = await busy.acquire(order);
        localTurns++;
        await sleep(5);
        await handle.release();
      }
    });
    await sleep(100);
    const turnsBefore = localTurns;
    const handle = await other.acquire(order);
    stop = true;
    await handle.release();
    await Promise.all(loops);
    // Served (not ORDER_BUSY) although the queue here never emptied while it waited.
    expect(turnsBefore).toBeGreaterThan(0);
    expect(localTurns).toBeGreaterThan(turnsBefore);
  });

  it('keeps serving when its wake-up connection is cut, and listens again once it is back', async () => {
    const order = randomUUID();
    const name = `test-lock-${randomUUID().slice(0, 8)}`;
    // The wake-up connection is the client's duplicate, so it carries the same name.
    const redis = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: name });
    clients.push(redis);
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    const lock = new RedlockOrderLock(redis, { keyPrefix: PREFIX, retryDelayMs: 200, waitMs: 10_000 });
    const { lock: other } = await lockOf();
    const subscribers = async () =>
      String(await admin.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=${name} `) && /\bflags=\S*P/.test(line))
        .map((line) => /\bid=(\d+)/.exec(line)![1]);

    let held = await other.acquire(order);
    let waiter = lock.acquire(order);
    const [id] = await waitFor('the waiter to listen', async () => ((await subscribers()).length > 0 ? subscribers() : undefined), 5_000, 20);
    expect(id).toBeDefined();
    await admin.client('KILL', 'ID', id);
    await held.release();
    await (await waiter).release(); // by its retry, or a wake once resubscribed

    // The connection comes back (ioredis reconnects it): the next waiter listens on it again.
    held = await other.acquire(order);
    waiter = lock.acquire(order);
    await waitFor('the waiter to listen again', async () => (await subscribers()).length === 1, 5_000, 20);
    await held.release();
    await (await waiter).release();
    expect(lock.tracked).toBe(0);
  });

  it('fails fast with DEPENDENCY_UNAVAILABLE while Redis cannot be reached', async () => {
    const down = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
    down.on('error', () => undefined);
    const lock = new RedlockOrderLock(down, { keyPrefix: PREFIX, waitMs: 5_000 });
    const started = Date.now();
    expect(await codeOf(lock.acquire(randomUUID()))).toBe('DEPENDENCY_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(1_000);
    down.disconnect();
  });
});
