// The floor on PostgreSQL: the MariaDB floor's statements (baseline.mjs), with `pg` and ioredis alone,
// on the tables PostgresOrderStore.ensureSchema() creates. No TypeORM: a pg.Pool of the engine's size.
// Its statements with parameters are named, so each connection prepares them once, as the engine's
// store does by default (PostgresOrderStore's prepareStatements).
import { createHash } from 'node:crypto';
import pg from 'pg';
import { createWakingLock, withOrderLock } from './baseline.mjs';

/** A named statement: parsed and planned once per connection. */
const named = (name, text, values) => ({ name: `floor_${name}`, text, values });

export async function openPostgresBaseline(databaseUrl, poolSize, redis) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  pool.on('error', () => undefined); // an idle client's error; the next checkout gets a fresh one

  const waking = createWakingLock(redis);

  /** The order's lock (the same as the MariaDB floor's: the waking one when it may wait, unless `polling`; one try when it may not), then `work` on a client of its own, ROLLBACK if it throws. */
  const locked = (orderId, waitMs, work, polling = false) =>
    (polling || waitMs <= 0 ? (id, ms, fn) => withOrderLock(redis, id, ms, fn) : waking.withLock)(orderId, waitMs, async () => {
      const client = await pool.connect();
      try {
        await work(client);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });

  return {
    async seed(orderIds) {
      const now = new Date();
      await pool.query(
        "INSERT INTO fsm_order (id, biz_code, scene_id, state, version, data, created_at, updated_at) SELECT id, 'BASE', 'S', 'A', 1, '{}'::jsonb, $2, $2 FROM unnest($1::text[]) AS id",
        [orderIds, now],
      );
    },
    /**
     * SET NX PX, BEGIN (READ COMMITTED, in the same statement), SELECT, conditional UPDATE, INSERT log,
     * INSERT outbox, COMMIT, compare-and-delete: six database round trips, as on MariaDB.
     */
    async transition(orderId, requestId, waitMs = 0, { polling = false } = {}) {
      let outcome;
      await locked(orderId, waitMs, async (client) => {
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        const {
          rows: [row],
        } = await client.query(named('select', 'SELECT state, version FROM fsm_order WHERE id = $1', [orderId]));
        const to = row.state === 'A' ? 'B' : 'A';
        const version = row.version + 1;
        const now = new Date();
        const updated = await client.query(named('update', 'UPDATE fsm_order SET state = $1, version = $2, updated_at = $3 WHERE id = $4 AND version = $5', [
          to, version, now, orderId, row.version,
        ]));
        if (updated.rowCount !== 1) throw new Error('version conflict');
        await client.query(named(
          'log',
          'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, source, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [orderId, version, 'FLIP', row.state, to, requestId, 'api', now],
        ));
        await client.query(named('outbox', 'INSERT INTO fsm_outbox (message_id, order_id, version, kind, routing_key, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          `${orderId}:${version}`, orderId, version, 'status', 'BASE.S.FLIP', JSON.stringify({ orderId, version, from: row.state, to }), now,
        ]));
        await client.query('COMMIT');
        outcome = { fromState: row.state, toState: to, version };
      }, polling);
      return outcome;
    },
    /**
     * The same floor writing what the engine writes on PostgreSQL (as transitionWithEngineRows in
     * baseline.mjs): one lookup of the order with the request id and caller, before the transaction;
     * the order's data, the request hash and stored response in the log, and a status message with
     * the order's snapshot. BEGIN carries the isolation level, so the transaction is five round trips.
     */
    async transitionWithEngineRows(orderId, requestId) {
      await locked(orderId, 0, async (client) => {
        const {
          rows: [row],
        } = await client.query(named(
          'engine_lookup',
          'SELECT o.state, o.version, o.data, o.created_at, t.request_hash FROM fsm_order o LEFT JOIN fsm_transition t ON t.request_id = $1 AND t.caller = $2 WHERE o.id = $3',
          [requestId, '', orderId],
        ));
        if (row.request_hash) throw new Error('replay');
        const data = row.data ?? {};
        const hash = createHash('sha256').update(JSON.stringify({ event: 'FLIP', orderId })).digest('hex');
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        const to = row.state === 'A' ? 'B' : 'A';
        const version = row.version + 1;
        const now = new Date();
        const updated = await client.query(named(
          'engine_update',
          'UPDATE fsm_order SET state = $1, version = $2, data = $3::jsonb, updated_at = $4, auto_due_at = $5, flagged_at = NULL, flag_reason = NULL WHERE id = $6 AND version = $7 AND state = $8',
          [to, version, JSON.stringify(data), now, null, orderId, row.version, row.state],
        ));
        if (updated.rowCount !== 1) throw new Error('version conflict');
        const order = { orderId, state: to, version, bizCode: 'BASE', sceneId: 'S', data, createdAt: row.created_at, updatedAt: now };
        const response = JSON.stringify({ orderId, event: 'FLIP', fromState: row.state, toState: to, version, result: null, order });
        await client.query(named(
          'engine_log',
          'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, caller, source, created_at, request_hash, response) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
          [orderId, version, 'FLIP', row.state, to, requestId, '', 'api', now, hash, response],
        ));
        const messageId = `${orderId}:${version}`;
        const payload = JSON.stringify({
          messageId, orderId, version, event: 'FLIP', fromState: row.state, toState: to, bizCode: 'BASE', sceneId: 'S', requestId, source: 'api',
          occurredAt: now.toISOString(), order: { orderId, state: to, version, bizCode: 'BASE', sceneId: 'S', data: order.data },
        });
        await client.query(named('outbox', 'INSERT INTO fsm_outbox (message_id, order_id, version, kind, routing_key, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          messageId, orderId, version, 'status', `BASE.S.FLIP.${to}`, payload, now,
        ]));
        await client.query('COMMIT');
      });
    },
    close: async () => {
      waking.close();
      await pool.end();
    },
  };
}
