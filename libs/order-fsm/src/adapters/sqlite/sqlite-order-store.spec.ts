import { DataSource } from 'typeorm';
import { SqliteOrderStore } from './sqlite-order-store.js';

/** The transition log as embedded files had it before request ids belonged to their caller. */
const BEFORE_CALLERS = [
  `CREATE TABLE fsm_transition (
    id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, version INTEGER NOT NULL, event TEXT NOT NULL,
    from_state TEXT NOT NULL, to_state TEXT NOT NULL, request_id TEXT NOT NULL, source TEXT NOT NULL,
    created_at INTEGER NOT NULL, request_hash TEXT NOT NULL, response TEXT NULL)`,
  'CREATE UNIQUE INDEX uq_fsm_transition_order_version ON fsm_transition (order_id, version)',
  'CREATE UNIQUE INDEX uq_fsm_transition_request ON fsm_transition (request_id)',
  "INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, source, created_at, request_hash) VALUES ('o-1', 1, 'CREATE', 'INIT', 'A', 'shared', 'api', 0, 'h')",
  "INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, source, created_at, request_hash) VALUES ('o-1', 2, 'GO', 'A', 'B', 'auto:x', 'worker', 0, 'h')",
];

describe('SqliteOrderStore on a file from before callers', () => {
  it('upgrades it once, in one go: the caller column, the engine rows under @system, the id unique per caller', async () => {
    const dataSource = new DataSource({ type: 'sqljs', logging: false });
    await dataSource.initialize();
    try {
      for (const statement of BEFORE_CALLERS) await dataSource.query(statement);
      await new SqliteOrderStore(dataSource).ensureSchema();
      // A second start finds nothing left to do.
      await new SqliteOrderStore(dataSource).ensureSchema();

      expect(await dataSource.query('SELECT request_id, caller FROM fsm_transition ORDER BY version')).toEqual([
        { request_id: 'shared', caller: '' },
        { request_id: 'auto:x', caller: '@system' },
      ]);
      const store = new SqliteOrderStore(dataSource);
      expect(await store.findConsumedRequest('auto:x', '@system')).toMatchObject({ requestHash: 'h' });
      expect(await store.findConsumedRequest('auto:x', 'app')).toBeNull();
      // The old unique index on the id alone is gone: another caller may use the same id.
      await dataSource.query(
        "INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, caller, source, created_at, request_hash) VALUES ('o-2', 1, 'CREATE', 'INIT', 'A', 'shared', 'app', 'api', 0, 'h')",
      );
      await expect(
        dataSource.query(
          "INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, caller, source, created_at, request_hash) VALUES ('o-3', 1, 'CREATE', 'INIT', 'A', 'shared', 'app', 'api', 0, 'h')",
        ),
      ).rejects.toThrow(/UNIQUE constraint failed/);
    } finally {
      await dataSource.destroy();
    }
  });
});
