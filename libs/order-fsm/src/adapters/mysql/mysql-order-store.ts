import type { DataSource } from 'typeorm';
import type { Statement, SqlDialect } from '../sql/sql-dialect.js';
import type { ClaimedMessage, SaveOutcome, TransitionWrite } from '../../ports/order-store.js';
import { gapFreePrefix } from '../sql/outbox-prefix.js';
import { CLAIM_OUTBOX, publishedOf, SqlOrderStore, type SqlSession } from '../sql/sql-order-store.js';

/** MariaDB 10.6+ and MySQL 8: DATETIME(3) times read back as Dates (the DataSource's timezone 'Z'), SKIP LOCKED claims. */
export const MYSQL_DIALECT: SqlDialect = {
  name: 'mysql',
  placeholders: (sql) => sql,
  time: (value) => value,
  readTime: (value) => (value instanceof Date ? value : new Date(String(value))),
  skipLocked: ' FOR UPDATE SKIP LOCKED',
  // A no-op update: unlike INSERT IGNORE, it turns no other error into a warning.
  ignoreDuplicateMessage: ' ON DUPLICATE KEY UPDATE message_id = message_id',
  purgePublished: (before, limit) => ['DELETE FROM fsm_outbox WHERE published_at < ? LIMIT ?', [before, limit]],
  // Record locks only: claiming never blocks transitions inserting new rows into the gaps.
  claimIsolation: 'READ COMMITTED',
};

/** mysql2's callback API, on its pool or on one of the pool's connections. */
interface CallbackQueryable {
  query(sql: string, values: unknown, callback: (error: Error | null, result: never) => void): void;
}
interface Mysql2Pool extends CallbackQueryable {
  getConnection(callback: (error: Error | null, connection: PooledConnection) => void): void;
}
interface PooledConnection extends CallbackQueryable {
  release(): void;
  destroy(): void;
}

const run = <R>(target: CallbackQueryable, sql: string, params: readonly unknown[]): Promise<R> =>
  new Promise((resolve, reject) => target.query(sql, params, (error, result) => (error ? reject(error) : resolve(result))));

const connectionOf = (pool: Mysql2Pool): Promise<PooledConnection> =>
  new Promise((resolve, reject) => pool.getConnection((error, connection) => (error ? reject(error) : resolve(connection))));

/**
 * Runs `work` (batches that start a transaction and end it with COMMIT) on one of the pool's
 * connections. Whatever fails, a statement (the server stopped there, inside the transaction) or the
 * work between two batches, the transaction is rolled back before the connection goes back to the
 * pool, or the connection is dropped.
 */
async function inTransaction<R>(pool: Mysql2Pool, work: (connection: PooledConnection) => Promise<R>): Promise<R> {
  const connection = await connectionOf(pool);
  let result: R;
  try {
    result = await work(connection);
  } catch (error) {
    await run(connection, 'ROLLBACK', []).then(
      () => connection.release(),
      () => connection.destroy(),
    );
    throw error;
  }
  connection.release();
  return result;
}

/**
 * The OrderStore on MariaDB 10.6+ or MySQL 8 (for FOR UPDATE SKIP LOCKED), through a TypeORM
 * DataSource of type `mysql` or `mariadb` (the `mysql2` driver), over the tables of
 * ORDER_FSM_MIGRATIONS. The protocol is the store kit's (SqlOrderStore); this adapter adds MySQL's
 * two faster roads, through public APIs only:
 *
 * - reads go to the driver's pool (`driver.pool`) as one statement, without a query runner around it;
 * - with `multipleStatements: true` on the DataSource (off by default: it applies to every query of
 *   the DataSource, so it is the application's call), a transition whose processor has no save() of
 *   its own is one round trip: `START TRANSACTION`, the fence, the log row, the outbox, the timers and
 *   `COMMIT` in one batch. The log row's order id is NULL unless the fence just wrote one row, so a
 *   lost fence fails the batch before COMMIT. With a save(), the rows after it go in one batch too.
 */
export class MysqlOrderStore extends SqlOrderStore {
  constructor(dataSource: DataSource) {
    if (!['mysql', 'mariadb'].includes(dataSource.options.type)) {
      throw new Error(`MysqlOrderStore speaks MySQL and MariaDB (mysql2); this DataSource is ${dataSource.options.type}`);
    }
    super(dataSource, MYSQL_DIALECT);
  }

  protected override async read<R>(sql: string, params: readonly unknown[]): Promise<R[]> {
    const pool = this.pool();
    return pool ? this.guard(() => run<R[]>(pool, sql, params)) : super.read<R>(sql, params);
  }

  protected override fenceGuarded(insertTransition: string): string {
    // A single-row INSERT of NULL into the NOT NULL order_id is an error in every SQL mode.
    return insertTransition.replace('VALUES (?,', 'VALUES (IF(ROW_COUNT() = 1, ?, NULL),');
  }

  protected override async commitInOneBatch(write: TransitionWrite, outcome: SaveOutcome): Promise<boolean> {
    const pool = this.batches() ? this.pool() : undefined;
    if (!pool) return false;
    const statements = this.statementsOf(write, outcome, true);
    const batch: Statement[] = [['START TRANSACTION', []], ...statements, ['COMMIT', []]];
    await inTransaction(pool, (connection) => run(connection, batch.map(([sql]) => sql).join('; '), batch.flatMap(([, params]) => params)));
    return true;
  }

  /**
   * With batches, a relay's pass in three round trips on one connection, where the store kit's takes
   * six: the isolation, `START TRANSACTION` and the claim in one batch, the look at what stands before
   * the claimed rows in their orders, then, once the broker acknowledged, the mark with `COMMIT`.
   */
  override async relayOutbox(limit: number, publish: (messages: readonly ClaimedMessage[]) => Promise<readonly number[]>): Promise<number> {
    const pool = this.batches() ? this.pool() : undefined;
    if (!pool) return super.relayOutbox(limit, publish);
    return this.guard(() =>
      inTransaction(pool, async (connection) => {
        const session: SqlSession = {
          rows: (sql, params) => run(connection, sql, params),
          changes: async (sql, params) => (await run<{ affectedRows: number }>(connection, sql, params)).affectedRows,
        };
        const [, , rows] = await run<[unknown, unknown, Array<Record<string, unknown>>]>(
          connection,
          `SET TRANSACTION ISOLATION LEVEL ${MYSQL_DIALECT.claimIsolation}; START TRANSACTION; ${CLAIM_OUTBOX}${MYSQL_DIALECT.skipLocked}`,
          [limit],
        );
        const claimed = rows.map((row) => this.claimedMessage(row));
        const published = claimed.length === 0 ? [] : await publishedOf(gapFreePrefix(claimed, await this.pendingOf(session, claimed)), publish);
        if (published.length > 0) {
          await run(connection, `UPDATE fsm_outbox SET published_at = ? WHERE id IN (${published.map(() => '?').join(', ')}); COMMIT`, [new Date(), ...published]);
        } else await run(connection, 'COMMIT', []);
        return claimed.length;
      }),
    );
  }

  protected override async send(session: SqlSession, statements: readonly Statement[]): Promise<void> {
    if (!this.batches() || statements.length < 2) return super.send(session, statements);
    await session.changes(statements.map(([sql]) => sql).join('; '), statements.flatMap(([, params]) => params));
  }

  /** The driver's pool, when there is one (no replication). */
  private pool(): Mysql2Pool | undefined {
    return (this.dataSource.driver as unknown as { pool?: Mysql2Pool }).pool;
  }

  private batches(): boolean {
    const options = this.dataSource.options as { multipleStatements?: boolean; extra?: { multipleStatements?: boolean } };
    // A subscriber expects TypeORM's transaction events, which a batch sent whole would not give it.
    return this.dataSource.subscribers.length === 0 && (options.multipleStatements === true || options.extra?.multipleStatements === true);
  }
}

/** @deprecated the same store under its former name: use MysqlOrderStore. */
export const TypeOrmOrderStore = MysqlOrderStore;
/** @deprecated the same store under its former name: use MysqlOrderStore. */
export type TypeOrmOrderStore = MysqlOrderStore;
