// Scenario 8 (--db=postgres): a peer in the same run. DBOS Transact doing the floor's guarded transition
// as a durable workflow on the same PostgreSQL, side by side with the engine and the raw pg floor, in
// rotating slices at c=1, 16 and 64.
//
// The DBOS side: a workflow whose id is the request id (DBOS's idempotency: a second start with the same
// id answers the recorded result and runs nothing), with one step in it that runs the floor's transaction
// with `pg` (a pool of the engine's size, no lock): SELECT the order, UPDATE it fenced on its version,
// INSERT the log row, INSERT the outbox row, COMMIT, on the same tables as the floor (fsm_order,
// fsm_transition, fsm_outbox). DBOS checkpoints the workflow, its input and output and the step's output
// in its system tables (schema `dbos` of the same database) in transactions of their own: a
// step is at least once, and a re-run after a crash between the two commits is refused by the log's
// unique request id (the workflow then ends in error instead of answering the first outcome), so the
// order still moves once per request id.
// Not a DBOS transaction on a datasource (its checkpoint in the same transaction, exactly once): of the
// datasource packages, only Prisma's has a 5.x release; the knex, Drizzle and Postgres.js ones are 4.x,
// and the knex one fails at DBOS 5's launch (it calls a helper DBOS 5 no longer exports).
import { randomUUID } from 'node:crypto';
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import { sideBySide } from './stats.mjs';

const NAME = 'order-fsm-bench';

export async function openDbosPeer(databaseUrl, poolSize) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  pool.on('error', () => undefined);

  /** The floor's statements (baseline-postgres.mjs), in one transaction, as a DBOS step. */
  const guardedTransition = DBOS.registerStep(
    async (orderId, requestId) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        const {
          rows: [row],
        } = await client.query('SELECT state, version FROM fsm_order WHERE id = $1', [orderId]);
        const to = row.state === 'A' ? 'B' : 'A';
        const version = row.version + 1;
        const now = new Date();
        const updated = await client.query('UPDATE fsm_order SET state = $1, version = $2, updated_at = $3 WHERE id = $4 AND version = $5', [to, version, now, orderId, row.version]);
        if (updated.rowCount !== 1) throw new Error('version conflict');
        await client.query(
          'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, source, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [orderId, version, 'FLIP', row.state, to, requestId, 'api', now],
        );
        await client.query('INSERT INTO fsm_outbox (message_id, order_id, version, kind, routing_key, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          `${orderId}:${version}`, orderId, version, 'status', 'BASE.S.FLIP', JSON.stringify({ orderId, version, from: row.state, to }), now,
        ]);
        await client.query('COMMIT');
        return { fromState: row.state, toState: to, version };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    { name: 'guardedTransition', retriesAllowed: false },
  );
  const flipWorkflow = DBOS.registerWorkflow(async (orderId, requestId) => guardedTransition(orderId, requestId), { name: 'flipOrder' });

  DBOS.setConfig({ name: NAME, systemDatabaseUrl: databaseUrl, systemDatabasePoolSize: poolSize, logLevel: 'error' });
  await DBOS.launch();

  return {
    /** One event: the workflow started under the request id, its result awaited. */
    async transition(orderId, requestId) {
      const handle = await DBOS.startWorkflow(flipWorkflow, { workflowID: requestId })(orderId, requestId);
      return handle.getResult();
    },
    /** The run's workflows and their steps' outputs go with its rows. */
    async forget(prefix) {
      // workflow_input and workflow_output have no foreign key to workflow_status: they go by name.
      for (const table of ['operation_outputs', 'workflow_input', 'workflow_output']) await pool.query(`DELETE FROM dbos.${table} WHERE workflow_uuid LIKE $1`, [`${prefix}%`]);
      await pool.query('DELETE FROM dbos.workflow_status WHERE workflow_uuid LIKE $1', [`${prefix}%`]);
    },
    async close() {
      await DBOS.shutdown();
      await pool.end();
    },
  };
}

/**
 * Statements sent to PostgreSQL per event by `step`, run `n` times one after another: every pg query of
 * this process is counted (TypeORM, knex and DBOS's system database all go through pg.Client), so a
 * background query of DBOS's in that window would count too. Redis commands are not counted.
 */
async function statementsPerEvent(step, n = 50) {
  const query = pg.Client.prototype.query;
  let count = 0;
  pg.Client.prototype.query = function countedQuery(...args) {
    count++;
    return query.apply(this, args);
  };
  try {
    for (let i = 0; i < n; i++) await step(0, i % 4);
  } finally {
    pg.Client.prototype.query = query;
  }
  return count / n;
}

/** Scenario 8: the engine, DBOS and the floor at c=1, 16, 64; answers the rows, prints them as it goes. */
export async function runDbosPeer({ url, poolSize, run, rounds, sliceMs, keysPerClient, engineOrders, floorOrders, engineStep, floorStep }) {
  const peer = await openDbosPeer(url, poolSize);
  const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
  const side = (label, r) => `${label} ${fmt(r.perSecond).padStart(5)}/s p99 ${fmt(r.p99, 1).padStart(5)} ms`;
  console.log(`scenario 8 on PostgreSQL: the engine vs DBOS Transact (a workflow per request id, the floor's transaction in it), with the pg floor for scale, ${rounds} alternating slices of ${sliceMs / 1000} s each`);
  const rows = [];
  try {
    for (const concurrency of [1, 16, 64]) {
      const n = concurrency * keysPerClient;
      const [eOrders, bOrders, dOrders] = [await engineOrders(n), await floorOrders(n), await floorOrders(n)];
      const steps = {
        engine: (c, k) => engineStep(eOrders[c * keysPerClient + k]),
        baseline: (c, k) => floorStep(bOrders[c * keysPerClient + k]),
        dbos: (c, k) => peer.transition(dOrders[c * keysPerClient + k], `${run}-d-${randomUUID()}`.slice(0, 64)),
      };
      // Counted one side after another, at c=1 only: a count is every pg query of the process while it runs.
      const statements = concurrency === 1 ? {} : undefined;
      if (statements) for (const [name, step] of Object.entries(steps)) statements[name] = await statementsPerEvent(step);
      const row = { concurrency, ...(await sideBySide({ rounds, sliceMs, concurrency, keysPerClient, ...steps })) };
      row.engineToDbos = row.engine.perSecond / row.dbos.perSecond;
      row.dbosToFloor = row.dbos.perSecond / row.baseline.perSecond;
      if (statements) row.statementsPerEvent = statements;
      rows.push(row);
      const errors = row.engine.errors + row.dbos.errors + row.baseline.errors;
      console.log(
        `  c=${String(concurrency).padStart(2)}  ${side('engine', row.engine)} | ${side('DBOS', row.dbos)} | engine/DBOS ${fmt(row.engineToDbos, 2)} | ${side('pg floor', row.baseline)} (engine ${fmt(row.throughputRatio, 2)}, DBOS ${fmt(row.dbosToFloor, 2)} of it)${errors ? `  errors ${row.engine.errors}/${row.dbos.errors}/${row.baseline.errors}` : ''}`,
      );
    }
    const counted = rows[0].statementsPerEvent;
    if (counted) console.log(`        statements to PostgreSQL per event (c=1, Redis not counted): engine ${fmt(counted.engine, 1)}, DBOS ${fmt(counted.dbos, 1)}, floor ${fmt(counted.baseline, 1)}`);
  } finally {
    await peer.forget(`${run}-`);
    await peer.close();
  }
  return rows;
}
