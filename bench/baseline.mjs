// The floor: the minimum I/O a guarded transition needs, with mysql2 and ioredis alone, on the engine's tables.
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';

const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

export async function openBaseline(databaseUrl, poolSize, redis) {
  const pool = mysql.createPool({ uri: databaseUrl, connectionLimit: poolSize, timezone: 'Z' });
  return {
    async seed(orderIds) {
      const now = new Date();
      await pool.query('INSERT INTO fsm_order (id, biz_code, scene_id, state, version, data, created_at, updated_at) VALUES ?', [
        orderIds.map((id) => [id, 'BASE', 'S', 'A', 1, '{}', now, now]),
      ]);
    },
    /** SET NX PX, BEGIN, SELECT, conditional UPDATE, INSERT log, INSERT outbox, COMMIT, compare-and-delete. */
    async transition(orderId, requestId) {
      const key = `bench:lock:${orderId}`;
      const token = randomUUID();
      if ((await redis.set(key, token, 'PX', 10_000, 'NX')) !== 'OK') throw new Error('busy');
      const conn = await pool.getConnection();
      try {
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
      } catch (error) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        conn.release();
        await redis.eval(UNLOCK, 1, key, token);
      }
    },
    close: () => pool.end(),
  };
}
