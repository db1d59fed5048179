// The floor: the minimum I/O a guarded transition needs, with mysql2 and ioredis alone, on the engine's tables.
import { createHash, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';

const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/**
 * The floors' polling lock, as both locks were before wake-ups: SET NX PX (a busy order is tried again
 * every 25 ms, ±25%, for up to `waitMs`), then `work`, then compare-and-delete. Kept beside the waking
 * floor to show what the wake-up changes.
 */
export async function withOrderLock(redis, orderId, waitMs, work) {
  const key = `bench:lock:${orderId}`;
  const token = randomUUID();
  const deadline = Date.now() + waitMs;
  while ((await redis.set(key, token, 'PX', 10_000, 'NX')) !== 'OK') {
    if (Date.now() >= deadline) throw new Error('busy');
    await new Promise((resolve) => setTimeout(resolve, 25 + Math.floor(Math.random() * 13) - 6));
  }
  try {
    return await work();
  } finally {
    await redis.eval(UNLOCK, 1, key, token);
  }
}

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) redis.call('publish', KEYS[2], '') return 1 end return 0";
const EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
const YIELD =
  "if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end " +
  "if redis.call('publish', KEYS[2], '') > 0 then redis.call('del', KEYS[1]) return 1 end redis.call('pexpire', KEYS[1], ARGV[2]) return 0";

/**
 * The floors' lock with the engine's wake-up (RedlockOrderLock), in as little code as it takes, so
 * that the hot-order comparison stays honest: waiters of this process queue per order in arrival
 * order and only the first tries Redis; a release hands the order to the next waiter here (the lease
 * renewed when less than half is left), up to 16 times in a row, then lets it go if another process
 * listens; a release to Redis publishes on the key's channel, and waiters retry every 100 ms besides.
 * Answers `withLock(orderId, waitMs, work)` and `close()`.
 */
export function createWakingLock(redis, { ttlMs = 10_000, retryMs = 100, maxLocalHandoffs = 16 } = {}) {
  const subscriber = redis.duplicate();
  subscriber.on('error', () => undefined);
  const orders = new Map();
  subscriber.on('message', (channel) => orders.get(channel.slice('bench:lock:'.length, -':released'.length))?.wake?.());
  const ready = new Promise((resolve) => subscriber.once('ready', resolve));
  const pause = (o, ms) => new Promise((resolve) => {
    const timer = setTimeout((o.wake = () => { clearTimeout(timer); o.wake = undefined; resolve(); }), ms);
  });
  const renewIfDue = async (o) => {
    if (o.leaseUntil - Date.now() >= ttlMs / 2) return true;
    const sent = Date.now();
    if (Number(await redis.eval(EXTEND, 1, o.key, o.token, ttlMs)) !== 1) return false;
    o.leaseUntil = sent + ttlMs * 0.99;
    return true;
  };
  const grant = (o) => {
    const next = o.waiters.shift();
    clearTimeout(next.timer);
    next.resolve();
  };
  async function contend(o, yielded) {
    o.contending = true;
    let subscribed = false;
    if (yielded) {
      await ready;
      await subscriber.subscribe(o.channel);
      subscribed = true;
      await pause(o, 20);
    }
    while (o.waiters.length > 0) {
      const token = randomUUID();
      const sent = Date.now();
      if ((await redis.set(o.key, token, 'PX', ttlMs, 'NX')) === 'OK') {
        Object.assign(o, { held: true, token, leaseUntil: sent + ttlMs * 0.99, handoffs: 0 });
        if (o.waiters.length > 0) grant(o);
        else await release(o);
        break;
      }
      if (!subscribed) {
        await ready;
        await subscriber.subscribe(o.channel);
        subscribed = true;
        continue;
      }
      await pause(o, retryMs - retryMs / 4 + Math.random() * (retryMs / 2));
    }
    o.contending = false;
    if (subscribed) await subscriber.unsubscribe(o.channel);
    if (!o.held && o.waiters.length > 0 && !o.contending) contend(o, false);
    else if (!o.held && !o.contending && o.waiters.length === 0) orders.delete(o.orderId);
  }
  async function release(o) {
    await redis.eval(RELEASE, 2, o.key, o.channel, o.token);
    o.held = false;
    if (o.waiters.length > 0 && !o.contending) contend(o, false);
    else if (!o.contending && o.waiters.length === 0) orders.delete(o.orderId);
  }
  async function passOn(o) {
    if (o.waiters.length === 0) return release(o);
    if (o.handoffs < maxLocalHandoffs) {
      if (!(await renewIfDue(o))) {
        o.held = false;
        return contend(o, false);
      }
      if (o.waiters.length === 0) return release(o);
      o.handoffs++;
      return grant(o);
    }
    const sent = Date.now();
    const outcome = Number(await redis.eval(YIELD, 2, o.key, o.channel, o.token, ttlMs));
    if (outcome === 0) {
      Object.assign(o, { leaseUntil: sent + ttlMs * 0.99, handoffs: 0 });
      return o.waiters.length > 0 ? grant(o) : release(o);
    }
    o.held = false;
    if (o.waiters.length > 0 && !o.contending) contend(o, outcome === 1);
  }
  async function withLock(orderId, waitMs, work) {
    let o = orders.get(orderId);
    if (!o) {
      const key = `bench:lock:${orderId}`;
      o = { orderId, key, channel: `${key}:released`, waiters: [], held: false, contending: false, token: '', leaseUntil: 0, handoffs: 0 };
      orders.set(orderId, o);
    }
    const state = o;
    await new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          if (state.waiters.includes(waiter)) state.waiters.splice(state.waiters.indexOf(waiter), 1);
          state.wake?.();
          reject(new Error('busy'));
        }, waitMs),
      };
      state.waiters.push(waiter);
      if (!state.held && !state.contending) contend(state, false);
    });
    try {
      return await work();
    } finally {
      await passOn(state);
    }
  }
  return { withLock, close: () => subscriber.disconnect() };
}

export async function openBaseline(databaseUrl, poolSize, redis) {
  const pool = mysql.createPool({ uri: databaseUrl, connectionLimit: poolSize, timezone: 'Z' });
  const waking = createWakingLock(redis);

  /** The order's lock (the waking one when it may wait, unless `polling`; one try when it may not), then `work` on a connection of its own, ROLLBACK if it throws. */
  const locked = (orderId, waitMs, work, polling = false) =>
    (polling || waitMs <= 0 ? (id, ms, fn) => withOrderLock(redis, id, ms, fn) : waking.withLock)(orderId, waitMs, async () => {
      const conn = await pool.getConnection();
      try {
        await work(conn);
      } catch (error) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        conn.release();
      }
    });

  return {
    async seed(orderIds) {
      const now = new Date();
      await pool.query('INSERT INTO fsm_order (id, biz_code, scene_id, state, version, data, created_at, updated_at) VALUES ?', [
        orderIds.map((id) => [id, 'BASE', 'S', 'A', 1, '{}', now, now]),
      ]);
    },
    /** SET NX PX, BEGIN, SELECT, conditional UPDATE, INSERT log, INSERT outbox, COMMIT, compare-and-delete. */
    async transition(orderId, requestId, waitMs = 0, { polling = false } = {}) {
      let outcome;
      await locked(orderId, waitMs, async (conn) => {
        await conn.query('BEGIN');
        const [[row]] = await conn.query('SELECT state, version FROM fsm_order WHERE id = ?', [orderId]);
        const to = row.state === 'A' ? 'B' : 'A';
        const version = row.version + 1;
        const now = new Date();
        const [updated] = await conn.query('UPDATE fsm_order SET state = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?', [
          to, version, now, orderId, row.version,
        ]);
        if (updated.affectedRows !== 1) throw new Error('version conflict');
        await conn.query(
          'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          [orderId, version, 'FLIP', row.state, to, requestId, 'api', now],
        );
        await conn.query('INSERT INTO fsm_outbox (message_id, order_id, version, kind, routing_key, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
          `${orderId}:${version}`, orderId, version, 'status', 'BASE.S.FLIP', JSON.stringify({ orderId, version, from: row.state, to }), now,
        ]);
        await conn.query('COMMIT');
        outcome = { fromState: row.state, toState: to, version };
      }, polling);
      return outcome;
    },
    /**
     * The same floor writing what the engine writes: the order row with its data, the transition with
     * its request hash and stored response (for replays), and a status message carrying the order's
     * snapshot, after one lookup of the order and of the request id. What separates it from the engine
     * is the engine's code; what separates it from transition() is the cost of those guarantees in I/O.
     */
    async transitionWithEngineRows(orderId, requestId) {
      await locked(orderId, 0, async (conn) => {
        const [[row]] = await conn.query(
          'SELECT o.state, o.version, o.data, o.created_at, t.request_hash FROM fsm_order o LEFT JOIN fsm_transition t ON t.request_id = ? WHERE o.id = ?',
          [requestId, orderId],
        );
        if (row.request_hash) throw new Error('replay');
        const data = typeof row.data === 'string' ? JSON.parse(row.data) : (row.data ?? {});
        const hash = createHash('sha256').update(JSON.stringify({ event: 'FLIP', orderId })).digest('hex');
        await conn.query('BEGIN');
        const to = row.state === 'A' ? 'B' : 'A';
        const version = row.version + 1;
        const now = new Date();
        const [updated] = await conn.query(
          'UPDATE fsm_order SET state = ?, version = ?, data = ?, updated_at = ?, auto_due_at = ?, flagged_at = NULL, flag_reason = NULL WHERE id = ? AND version = ? AND state = ?',
          [to, version, JSON.stringify(data), now, null, orderId, row.version, row.state],
        );
        if (updated.affectedRows !== 1) throw new Error('version conflict');
        const order = { orderId, state: to, version, bizCode: 'BASE', sceneId: 'S', data, createdAt: row.created_at, updatedAt: now };
        const response = JSON.stringify({ orderId, event: 'FLIP', fromState: row.state, toState: to, version, result: null, order });
        await conn.query(
          'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, source, created_at, request_hash, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [orderId, version, 'FLIP', row.state, to, requestId, 'api', now, hash, response],
        );
        const messageId = `${orderId}:${version}`;
        const payload = JSON.stringify({
          messageId, orderId, version, event: 'FLIP', fromState: row.state, toState: to, bizCode: 'BASE', sceneId: 'S', requestId, source: 'api',
          occurredAt: now.toISOString(), order: { orderId, state: to, version, bizCode: 'BASE', sceneId: 'S', data: order.data },
      });
      await conn.query('INSERT INTO fsm_outbox (message_id, order_id, version, kind, routing_key, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        messageId, orderId, version, 'status', `BASE.S.FLIP.${to}`, payload, now,
      ]);
      await conn.query('COMMIT');
      });
    },
    close: async () => {
      waking.close();
      await pool.end();
    },
  };
}
