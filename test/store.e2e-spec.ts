import { randomUUID } from 'node:crypto';
import { ORDER_FSM_MIGRATIONS, TypeOrmOrderStore, VersionConflictError, type FsmOrder, type TransitionWrite } from '@order-fsm/core';
import { DataSource, EventSubscriber, type EntitySubscriberInterface } from 'typeorm';

const DATABASE_URL = process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test';

function write(order: FsmOrder, toState: string): TransitionWrite {
  return {
    order,
    toState,
    event: 'STEP',
    requestId: `store-${randomUUID()}`,
    requestHash: 'h'.repeat(64),
    source: 'api',
    at: new Date(),
    messages: [],
    autoDueAt: null,
  };
}

async function timersOf(dataSource: DataSource, orderId: string): Promise<string[]> {
  const rows = await dataSource.query('SELECT event FROM fsm_timer WHERE order_id = ? ORDER BY id', [orderId]);
  return rows.map((r: { event: string }) => r.event);
}

/** save() gets a real TypeORM transaction: what it writes, nested transactions included, commits or rolls back with the transition. */
describe.each([
  ['with no subscriber (statements straight to mysql2)', false, false],
  ['with a subscriber (TypeORM opens and commits)', true, false],
  ['with multipleStatements (two round trips)', false, true],
])('TypeOrmOrderStore.commit, %s', (_name, withSubscriber, multipleStatements) => {
  let dataSource: DataSource;
  let store: TypeOrmOrderStore;
  const events: string[] = [];

  beforeAll(async () => {
    @EventSubscriber()
    class TransactionEvents implements EntitySubscriberInterface {
      afterTransactionCommit() {
        events.push('commit');
      }
      afterTransactionRollback() {
        events.push('rollback');
      }
    }
    dataSource = new DataSource({
      type: 'mysql', url: DATABASE_URL, timezone: 'Z', migrations: [...ORDER_FSM_MIGRATIONS], migrationsRun: true,
      subscribers: withSubscriber ? [TransactionEvents] : [],
      multipleStatements,
    });
    await dataSource.initialize();
    store = new TypeOrmOrderStore(dataSource);
  });
  afterAll(async () => {
    await dataSource.destroy();
  });

  async function created(): Promise<FsmOrder> {
    const order: FsmOrder = { orderId: `store-${randomUUID()}`, bizCode: 'B', sceneId: 'S', state: 'INIT', version: 0, data: { n: 1 } };
    return store.commit(write(order, 'A'), async () => ({ response: '{}', timers: [] }));
  }

  it('commits what save() wrote in a nested transaction together with the transition', async () => {
    const order = await created();
    const moved = await store.commit(write(order, 'B'), async (manager) => {
      await manager.transaction((inner) =>
        inner.query('INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES (?, 2, ?, ?, NOW(3), NOW(3))', [order.orderId, 'B', 'NESTED']),
      );
      return { response: '{}', timers: [{ event: 'LATER', fireAt: new Date(Date.now() + 60_000) }] };
    });
    expect(moved.version).toBe(2);
    expect((await store.load(order.orderId))?.state).toBe('B');
    expect(await timersOf(dataSource, order.orderId)).toEqual(['NESTED', 'LATER']);
    expect((await store.listTransitions(order.orderId)).map((t) => t.toState)).toEqual(['A', 'B']);
    if (withSubscriber) expect(events.at(-1)).toBe('commit');
  });

  it('rolls back the state change and what save() wrote, nested transaction included, when save() fails', async () => {
    const order = await created();
    await expect(
      store.commit(write(order, 'B'), async (manager) => {
        await manager.transaction((inner) =>
          inner.query('INSERT INTO fsm_timer (order_id, version, state, event, fire_at, created_at) VALUES (?, 2, ?, ?, NOW(3), NOW(3))', [order.orderId, 'B', 'NESTED']),
        );
        throw new Error('payment refused');
      }),
    ).rejects.toThrow('payment refused');
    const after = await store.load(order.orderId);
    expect(after).toMatchObject({ state: 'A', version: 1, data: { n: 1 } });
    expect(await timersOf(dataSource, order.orderId)).toEqual([]);
    expect((await store.listTransitions(order.orderId)).map((t) => t.version)).toEqual([1]);
    if (withSubscriber) expect(events.at(-1)).toBe('rollback');
  });

  it('rolls everything back when a write after save() fails, and answers what failed', async () => {
    const order = await created();
    const taken = `store-${randomUUID()}`;
    await store.commit({ ...write(order, 'B'), requestId: taken }, async () => ({ response: '{}', timers: [] }));
    const moved = (await store.load(order.orderId))!;
    // The same request id again: the log's unique key refuses it after the order row was updated.
    await expect(store.commit({ ...write(moved, 'A'), requestId: taken }, async () => ({ response: '{}', timers: [{ event: 'T', fireAt: new Date() }] }))).rejects.toMatchObject({
      code: 'DUPLICATE_REQUEST',
    });
    expect(await store.load(order.orderId)).toMatchObject({ state: 'B', version: 2 });
    expect(await timersOf(dataSource, order.orderId)).toEqual([]);
  });

  it('refuses a stale version with VERSION_CONFLICT and leaves the connection usable', async () => {
    const order = await created();
    await store.commit(write(order, 'B'), async () => ({ response: '{}', timers: [] }));
    await expect(store.commit(write(order, 'B'), async () => ({ response: '{}', timers: [] }))).rejects.toBeInstanceOf(VersionConflictError);
    // Every connection of the pool is still in a clean state: a fresh transition goes through.
    const current = (await store.load(order.orderId))!;
    await expect(store.commit(write(current, 'A'), async () => ({ response: '{}', timers: [] }))).resolves.toMatchObject({ version: 3 });
  });
});

describe('TypeOrmOrderStore', () => {
  it('refuses a DataSource that is not MySQL or MariaDB, naming it', () => {
    expect(() => new TypeOrmOrderStore({ options: { type: 'postgres' } } as unknown as DataSource)).toThrow(/MySQL and MariaDB.*postgres/);
  });
});
