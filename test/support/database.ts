import type { OrderStore } from '@order-fsm/core';
import { MysqlOrderStore, ORDER_FSM_MIGRATIONS } from '@order-fsm/core/mysql';
import { PostgresOrderStore } from '@order-fsm/core/postgres';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { databaseKindOf, type DatabaseKind } from '../../apps/order-service/src/config/service-config.js';

/**
 * The database the suites run the service on: DATABASE_URL, MariaDB unless a project says otherwise
 * (the *-postgres projects of jest.config.js point it at POSTGRES_URL: test/support/on-postgres.cjs).
 * Suites that look at rows, or break the database, ask here which one it is.
 */
export const DATABASE_URL = process.env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/test';
export const DATABASE: DatabaseKind = databaseKindOf(DATABASE_URL);
/** For test names: what is restarted, what a migration runs on. */
export const DATABASE_NAME = DATABASE === 'postgres' ? 'PostgreSQL' : 'MariaDB';

/**
 * A connection of the suite's own to the database, for assertions and for setting up conditions. With
 * `engineSchema`, order-fsm's tables are made first if they are missing (its migrations on MariaDB,
 * ensureSchema() on PostgreSQL), as an application using the library would.
 */
export async function openDatabase(options: { engineSchema?: boolean; poolSize?: number } = {}): Promise<DataSource> {
  const dataSource =
    DATABASE === 'postgres'
      ? new DataSource({ type: 'postgres', url: DATABASE_URL, poolSize: options.poolSize })
      : new DataSource({
          type: 'mysql',
          url: DATABASE_URL,
          timezone: 'Z',
          poolSize: options.poolSize,
          ...(options.engineSchema && { migrations: [...ORDER_FSM_MIGRATIONS], migrationsRun: true }),
        });
  await dataSource.initialize();
  if (options.engineSchema && DATABASE === 'postgres') await new PostgresOrderStore(dataSource).ensureSchema();
  return dataSource;
}

/** order-fsm's store for a DataSource of the suite's database. */
export function orderStoreFor(dataSource: DataSource): OrderStore {
  return dataSource.options.type === 'postgres' ? new PostgresOrderStore(dataSource) : new MysqlOrderStore(dataSource);
}

type Queryable = DataSource | QueryRunner | EntityManager;

const typeOf = (db: Queryable) => ('options' in db ? db.options.type : db.connection.options.type);

/**
 * Runs `statement`, written with `?` placeholders, on whichever database `db` is connected to. On
 * PostgreSQL the placeholders are numbered ($1, $2, ...) and an array stands for a list of values, so
 * that `IN (?)` with an array means there what mysql2 makes of it. Placeholders in quotes are left be.
 */
export async function sql<R = Record<string, any>>(db: Queryable, statement: string, params: readonly unknown[] = []): Promise<R[]> {
  if (typeOf(db) !== 'postgres') return db.query(statement, [...params]);
  const values: unknown[] = [];
  let next = 0;
  const numbered = statement.replace(/'[^']*'|\?/g, (token) => {
    if (token !== '?') return token;
    if (next >= params.length) throw new Error(`more placeholders than the ${params.length} values given: ${statement}`);
    const value = params[next++];
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0) throw new Error(`an empty list for a placeholder: ${statement}`);
    return list.map((item) => `$${values.push(item)}`).join(', ');
  });
  if (next !== params.length) throw new Error(`${params.length} values for ${next} placeholders: ${statement}`);
  return db.query(numbered, values);
}

/** SQL for the text of `key` in the JSON column `column` (order data). */
export function jsonText(db: Queryable, column: string, key: string): string {
  return typeOf(db) === 'postgres' ? `${column}->>'${key}'` : `JSON_UNQUOTE(JSON_EXTRACT(${column}, '$.${key}'))`;
}

/** How many sessions of this database wait on a row lock in a statement that names `table`. */
export async function lockWaitsOn(dataSource: DataSource, table: string): Promise<number> {
  const [row] =
    dataSource.options.type === 'postgres'
      ? await sql(
          dataSource,
          `SELECT COUNT(*) AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND query LIKE ?`,
          [`%${table}%`],
        )
      : await sql(
          dataSource,
          `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX x JOIN information_schema.PROCESSLIST p ON p.ID = x.trx_mysql_thread_id
           WHERE x.trx_state = 'LOCK WAIT' AND p.DB = DATABASE() AND x.trx_query LIKE ?`,
          [`%${table}%`],
        );
  return Number(row.n);
}

/** Every table of the database, checksummed: "unchanged" means the same rows, byte for byte. */
export async function checksumTables(dataSource: DataSource): Promise<string> {
  if (dataSource.options.type === 'postgres') {
    const tables = await sql<{ name: string }>(dataSource, 'SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename');
    const sums: string[] = [];
    for (const { name } of tables) {
      const [row] = await sql<{ sum: string }>(dataSource, `SELECT md5(COALESCE(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS sum FROM "${name}" t`);
      sums.push(`${name}=${row.sum}`);
    }
    return sums.join(' ');
  }
  const tables: Array<Record<string, string>> = await dataSource.query('SHOW TABLES');
  const names = tables.map((row) => Object.values(row)[0]).sort();
  const sums: Array<{ Table: string; Checksum: string }> = await dataSource.query(`CHECKSUM TABLE ${names.map((n) => `\`${n}\``).join(', ')}`);
  return sums.map((s) => `${s.Table}=${s.Checksum}`).join(' ');
}

/** The id the next row of `table` will get from its AUTO_INCREMENT (MariaDB) or identity column (PostgreSQL). */
export async function nextIdOf(dataSource: DataSource, table: string): Promise<number> {
  if (dataSource.options.type === 'postgres') {
    const [{ sequence }] = await sql<{ sequence: string }>(dataSource, "SELECT pg_get_serial_sequence(?, 'id') AS sequence", [table]);
    const [row] = await sql<{ last_value: string; is_called: boolean }>(dataSource, `SELECT last_value, is_called FROM ${sequence}`);
    return Number(row.last_value) + (row.is_called ? 1 : 0);
  }
  const [row] = await sql(dataSource, 'SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [table]);
  return Number(row.next);
}
