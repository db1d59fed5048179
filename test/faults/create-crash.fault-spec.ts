import { jest } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { openDatabase, sql } from '../support/database.js';
import { deleteTopology, uniquePrefix, waitFor } from '../support/broker.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { DROPOFF, PICKUP, uid } from '../support/taxi-client.js';

// Real processes, restarts and settling waits: each test's own waits are bounded; this bounds their sum.
jest.setTimeout(300_000);

const http = (p: ServiceProcess) => p.http();

/**
 * The taxi service as a real process, killed with SIGKILL at a chosen point of one passenger's CREATE
 * (the test-only TAXI_TEST_KILL_AT: apps/order-service/src/taxi/test-kill-switch.ts). The client
 * never gets its answer and retries with the same request id on another process, as a careful client
 * would: a create that committed answers its replay, one that did not applies now, and the passenger
 * is neither left blocked by a ride that does not exist nor given a second one.
 */
describe('a service process killed with SIGKILL during a CREATE', () => {
  const prefix = uniquePrefix('create-crash');
  const started: ServiceProcess[] = [];
  let survivor: ServiceProcess;
  let dataSource: DataSource;

  beforeAll(async () => {
    survivor = await startServiceProcess({ AMQP_PREFIX: prefix });
    started.push(survivor);
    // The schema is the survivor's: it ran the migrations at start.
    dataSource = await openDatabase();
  });
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await dataSource?.destroy();
    await deleteTopology(prefix);
  });

  it.each([
    ['action', 'before the transaction opens', false],
    ['save', 'inside the transaction, after the active-ride row', false],
    ['after', 'after the commit, before the answer', true],
  ] as const)('at %s (%s): the retry with the same request id answers 201, and the passenger has one ride', async (point, _where, committed) => {
    const passengerId = uid('p');
    const requestId = uid('create');
    // Its lock on the request outlives it by LOCK_TTL_MS: short, so that the retry does not wait long.
    const doomed = await startServiceProcess({ AMQP_PREFIX: prefix, LOCK_TTL_MS: '3000', TAXI_TEST_KILL_AT: `${point}:${passengerId}` });
    started.push(doomed);
    await http(doomed).put(`/passengers/${passengerId}`).send({ name: 'Crash' }).expect(200);
    const create = { requestId, bizCode: 'EXPRESS', sceneId: 'APP', payload: { passengerId, pickup: PICKUP, dropoff: DROPOFF } };

    const lost = await http(doomed)
      .post('/orders')
      .send(create)
      .then(
        (response) => `answered ${response.status}`,
        (error: Error) => error.message,
      );
    expect(lost).toMatch(/socket hang up|ECONNRESET/);
    await waitFor('the process to die', async () => doomed.child.signalCode !== null || doomed.child.exitCode !== null);
    expect(doomed.child.signalCode).toBe('SIGKILL');

    // The crash left the create committed whole, or nothing of it.
    const logged: Array<{ order_id: string }> = await sql(dataSource, 'SELECT order_id FROM fsm_transition WHERE request_id = ?', [requestId]);
    expect(logged).toHaveLength(committed ? 1 : 0);

    // The retry: ORDER_BUSY while the dead process's lock lives (a client retries that too), then the answer.
    const busy: number[] = [];
    const retried = await waitFor(
      'an answer other than ORDER_BUSY',
      async () => {
        const response = await http(survivor).post('/orders').send(create);
        if (response.status !== 409 || response.body.code !== 'ORDER_BUSY') return response;
        busy.push(Date.now());
        return undefined;
      },
      30_000,
    );
    expect({ status: retried.status, body: retried.body }).toMatchObject({ status: 201, body: { toState: 'CREATED', version: 1 } });
    const orderId: string = retried.body.orderId;
    if (committed) {
      // The stored answer, at once: the dead process's lock does not hold back a request already applied.
      expect(orderId).toBe(logged[0].order_id);
      expect(retried.headers['idempotent-replayed']).toBe('true');
      expect(busy).toEqual([]);
    } else {
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
    }
    const [log] = await sql(dataSource, 'SELECT COUNT(*) AS n FROM fsm_transition WHERE request_id = ?', [requestId]);
    expect(Number(log.n)).toBe(1);
    expect(await sql(dataSource, 'SELECT order_id FROM taxi_passenger_active_ride WHERE passenger_id = ?', [passengerId])).toEqual([{ order_id: orderId }]);

    // And that is the passenger's one unfinished ride.
    const second = await http(survivor).post('/orders').send({ ...create, requestId: uid('create') });
    expect({ status: second.status, reason: second.body.details?.reason }).toEqual({ status: 422, reason: 'PASSENGER_HAS_UNFINISHED_ORDER' });
  });
});
