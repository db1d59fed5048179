// The floor: the minimum I/O a guarded transition needs, with mysql2 and ioredis alone, on the engine's tables.
import { createHash, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';

const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/**
 * The floors' lock, on every database alike: SET NX PX (a busy order is tried again every 25 ms, ±25%,
 * for up to `waitMs`, as the engine's lock does), then `work`, then compare-and-delete.
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

export async function openBaseline(databaseUrl, poolSize, redis) {
  const pool = mysql.createPool({ uri: databaseUrl, connectionLimit: poolSize, timezone: 'Z' });

  /** The order's lock, then `work` on a connection of its own, ROLLBACK if it throws. */
  const locked = (orderId, waitMs, work) =>
    withOrderLock(redis, orderId, waitMs, async () => {
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
    async transition(orderId, requestId, waitMs = 0) {
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
      });
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
    close: () => pool.end(),
  };
}
