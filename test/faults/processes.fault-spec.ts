import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { auditQueue, deleteTopology, queueMessages, uniquePrefix, waitFor } from '../support/broker.js';
import { startTestApp, testRedis } from '../support/test-app.js';
import { checkHistory, type CheckReport } from './support/checker.js';
import { faultMachine, startFaultNode, type FaultNode } from './support/processes.js';
import { amqpTopology } from '@order-fsm/core/amqp';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { openDatabase, sql } from '../support/database.js';

// Real processes, restarts and settling waits: each test's own waits are bounded; this bounds their sum.
jest.setTimeout(300_000);

const machine = faultMachine();
const oid = (name: string) => `fault-${name}-${randomUUID().slice(0, 13)}`;

async function stateOf(dataSource: DataSource, orderId: string): Promise<{ state: string; version: number; flagged: boolean }> {
  const [row] = await sql(dataSource, 'SELECT state, version, flagged_at FROM fsm_order WHERE id = ?', [orderId]);
  return { state: row.state, version: Number(row.version), flagged: row.flagged_at !== null };
}

function report(name: string, r: CheckReport) {
  console.info(`${name}: ${r.orders} orders, ${r.transitions} transitions, ${r.messages.received} messages (${r.messages.duplicates} duplicates), violations: ${r.violations.length}`);
}

describe('faults in the processes that run the engine', () => {
  let dataSource: DataSource;
  let redis: Redis;
  const nodes: FaultNode[] = [];
  const start = async (env: Record<string, string>) => {
    const node = await startFaultNode(env);
    nodes.push(node);
    return node;
  };

  beforeAll(async () => {
    // The schema, once, as the service migrates it.
    await (await startTestApp({ relayEnabled: false, workerEnabled: false })).close();
    dataSource = await openDatabase();
    redis = testRedis();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.kill()));
  });
  afterAll(async () => {
    await dataSource.destroy();
    redis.disconnect();
  });

  it('a stale lock holder, paused (SIGSTOP) past its lock while another process commits, writes nothing when it resumes', async () => {
    const prefix = uniquePrefix('stale');
    const env = { FAULT_PREFIX: prefix, FAULT_LOCK_TTL_MS: '800' };
    const holder = await start(env);
    const other = await start(env);
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const orderId = oid('stale');
      expect((await holder.create(orderId, 'MANUAL')).outcome).toMatchObject({ toState: 'A', version: 1 });
      const staleRequest = `stale-${randomUUID()}`;
      const stale = holder.send(orderId, 'MOVE', { hold: true }, staleRequest);
      await holder.line(`HOLDING ${orderId}`);
      holder.child.kill('SIGSTOP');
      try {
        // Past the holder's lock (800 ms, gone from Redis when it expires): another process takes the order and moves it.
        await waitFor("the paused holder's lock to expire", async () => (await redis.exists(`order-fsm:lock:${orderId}`)) === 0, 10_000, 20);
        const moved = await other.send(orderId, 'MOVE');
        expect(moved.outcome).toMatchObject({ toState: 'B', version: 2 });
      } finally {
        holder.child.kill('SIGCONT');
      }
      // Resumed, it writes what it decided on the order as it read it.
      expect((await holder.release(orderId)).ok).toBe(true);
      const answer = await stale;
      expect(answer.ok).toBe(false);
      expect(['VERSION_CONFLICT', 'ORDER_STATE_NOT_MATCH']).toContain(answer.error?.code);
      expect(await stateOf(dataSource, orderId)).toMatchObject({ state: 'B', version: 2 });
      const [row] = await sql(dataSource, 'SELECT COUNT(*) AS n FROM fsm_transition WHERE request_id = ?', [staleRequest]);
      expect(Number(row.n)).toBe(0);
    }
    await deleteTopology(prefix);
  });

  describe.each(['action', 'save', 'after'])('a worker killed with SIGKILL at %s', (point) => {
    it('leaves the order to another worker, which finishes it with every version once', async () => {
      const prefix = uniquePrefix(`kill-${point}`);
      const orderId = oid(point);
      // A short lock, so that the killed worker's lock does not outlive the retries.
      const env = { FAULT_PREFIX: prefix, FAULT_LOCK_TTL_MS: '1500' };
      const doomed = await start({ ...env, FAULT_ROLE: 'worker', FAULT_STOP_AT: point, FAULT_STOP_ORDER: orderId });
      const client = await start(env);
      expect((await client.create(orderId, 'AUTO')).outcome).toMatchObject({ toState: 'S1' });
      await doomed.line(`AT ${point} ${orderId}`);
      await doomed.kill();
      // Before its commit nothing of it remains; after it, the commit stands.
      expect((await stateOf(dataSource, orderId)).version).toBe(point === 'after' ? 2 : 1);

      await start({ ...env, FAULT_ROLE: 'worker' });
      await waitFor('the order to finish', async () => (await stateOf(dataSource, orderId)).state === 'DONE', 60_000);
      const result = await checkHistory({ dataSource, history: [], machine, orderIds: [orderId], settleMs: 30_000 });
      report(`kill at ${point}`, result);
      expect(result.violations).toEqual([]);
      expect(result.transitions).toBe(4);
      await deleteTopology(prefix);
    });
  });

  it('random SIGKILLs of workers under load: every order finishes, every version once, every message published', async () => {
    const prefix = uniquePrefix('random-kills');
    const env = { FAULT_PREFIX: prefix, FAULT_LOCK_TTL_MS: '1500' };
    const audit = await auditQueue(prefix);
    const client = await start(env);
    const workers = [await start({ ...env, FAULT_ROLE: 'worker' }), await start({ ...env, FAULT_ROLE: 'worker' })];
    const orderIds = Array.from({ length: 120 }, () => oid('random'));
    let kills = 0;
    const creating = (async () => {
      for (const orderId of orderIds) {
        expect((await client.create(orderId, 'AUTO')).ok).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    const KILLS = 8;
    while (kills < KILLS) {
      await new Promise((resolve) => setTimeout(resolve, 400 + Math.random() * 600));
      const victim = Math.floor(Math.random() * workers.length);
      await workers[victim].kill();
      kills++;
      workers[victim] = await start({ ...env, FAULT_ROLE: 'worker' });
    }
    await creating;
    const received = async () => (await audit.drain()).map((m) => ({ messageId: m.messageId, orderId: m.orderId, version: m.version }));
    const result = await checkHistory({ dataSource, history: [], machine, orderIds, received, settleMs: 60_000 });
    report(`random kills (${kills} kills)`, result);
    expect(kills).toBe(KILLS);
    expect(result.violations).toEqual([]);
    expect(result.transitions).toBe(orderIds.length * 4);
    for (const orderId of orderIds) expect((await stateOf(dataSource, orderId)).state).toBe('DONE');
    await audit.remove();
  });

  it('the relay killed after the broker acked but before it marked the rows: a duplicate, with the same message id', async () => {
    const prefix = uniquePrefix('relay-kill');
    const orderId = oid('relay');
    const env = { FAULT_PREFIX: prefix };
    const audit = await auditQueue(prefix);
    const doomed = await start({ ...env, FAULT_ROLE: 'worker', FAULT_STOP_AT: 'relay-acked', FAULT_STOP_ORDER: orderId });
    const client = await start(env);
    expect((await client.create(orderId, 'MANUAL')).ok).toBe(true);
    await doomed.line(`AT relay-acked ${orderId}`);
    await doomed.kill();
    const [row] = await sql(dataSource, "SELECT published_at FROM fsm_outbox WHERE message_id = ?", [`${orderId}:1`]);
    expect(row.published_at).toBeNull();

    await start({ ...env, FAULT_ROLE: 'worker' });
    const seen: string[] = [];
    await waitFor('the message twice', async () => {
      seen.push(...(await audit.drain()).filter((m) => m.orderId === orderId).map((m) => m.messageId));
      return seen.length >= 2;
    });
    expect(seen).toEqual([`${orderId}:1`, `${orderId}:1`]);
    const result = await checkHistory({ dataSource, history: [], machine, orderIds: [orderId], settleMs: 10_000 });
    expect(result.violations).toEqual([]);
    await audit.remove();
  });

  it('a poison event is dead-lettered after its retries, flagged, and never tried again', async () => {
    const prefix = uniquePrefix('poison');
    const orderId = oid('poison');
    const env = { FAULT_PREFIX: prefix };
    const worker = await start({ ...env, FAULT_ROLE: 'worker' });
    const client = await start(env);
    expect((await client.create(orderId, 'POISON')).outcome).toMatchObject({ toState: 'S1' });
    const { deadQueue } = amqpTopology(prefix, 2);
    await waitFor('the work to be dead-lettered', async () => (await queueMessages(deadQueue)).length === 1, 30_000);
    await waitFor('the order to be flagged', async () => (await stateOf(dataSource, orderId)).flagged, 10_000);
    const attempts = () => worker.output().split('\n').filter((l) => l === `POISONED ${orderId}`).length;
    expect(attempts()).toBe(3);
    // Past its stuck limit (3 s), the worker's sweeper (every 500 ms) has looked twice: nothing tries it again.
    const [{ auto_due_at: dueAt }] = await sql(dataSource, 'SELECT auto_due_at FROM fsm_order WHERE id = ?', [orderId]);
    expect(dueAt).toBeInstanceOf(Date);
    const sweepsSinceDue = () => worker.output().split('\n').filter((l) => l.startsWith('SWEPT ') && Number(l.split(' ')[1]) >= dueAt.getTime()).length;
    await waitFor('two sweeps past the stuck limit', async () => sweepsSinceDue() >= 2, 30_000, 50);
    expect(attempts()).toBe(3);
    expect(await queueMessages(deadQueue)).toHaveLength(1);
    const [work] = await sql(dataSource, "SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id = ? AND kind = 'work'", [orderId]);
    expect(Number(work.n)).toBe(1);
    expect(await stateOf(dataSource, orderId)).toMatchObject({ state: 'S1', version: 1, flagged: true });
    await deleteTopology(prefix);
  });
});
