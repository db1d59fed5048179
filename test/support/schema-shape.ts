import type { DataSource } from 'typeorm';
import type { Table } from '../../libs/order-fsm/src/adapters/sql/schema.js';

/** What a database holds of a table, for comparing it with the one description (FSM_TABLES). */
export interface TableShape {
  columns: Record<string, boolean>;
  /** `unique:a,b` or `index:a,b`, one per key or index (the primary key is not listed). */
  keys: string[];
}

export async function mysqlShape(dataSource: DataSource, table: string): Promise<TableShape> {
  const columns: Array<{ name: string; nullable: string }> = await dataSource.query(
    'SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?',
    [table],
  );
  const indexes: Array<{ name: string; column: string; unique: number }> = await dataSource.query(
    `SELECT index_name AS name, column_name AS \`column\`, non_unique = 0 AS \`unique\` FROM information_schema.statistics
      WHERE table_schema = DATABASE() AND table_name = ? AND index_name <> 'PRIMARY' ORDER BY index_name, seq_in_index`,
    [table],
  );
  return shapeOf(columns.map((c) => [c.name, c.nullable === 'YES']), indexes.map((i) => [i.name, i.column, Number(i.unique) === 1]));
}

export async function postgresShape(dataSource: DataSource, table: string): Promise<TableShape> {
  const columns: Array<{ name: string; nullable: string }> = await dataSource.query(
    'SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [table],
  );
  const indexes: Array<{ name: string; column: string; unique: boolean }> = await dataSource.query(
    `SELECT i.relname AS name, a.attname AS column, x.indisunique AS unique
       FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
       JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) ON true
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary ORDER BY i.relname, k.n`,
    [table],
  );
  return shapeOf(columns.map((c) => [c.name, c.nullable === 'YES']), indexes.map((i) => [i.name, i.column, i.unique]));
}

export async function sqliteShape(dataSource: DataSource, table: string): Promise<TableShape> {
  const columns: Array<{ name: string; notnull: number; pk: number }> = await dataSource.query(`PRAGMA table_info(${table})`);
  const rows: Array<[string, string, boolean]> = [];
  for (const index of (await dataSource.query(`PRAGMA index_list(${table})`)) as Array<{ name: string; unique: number; origin: string }>) {
    if (index.origin === 'pk') continue;
    for (const column of (await dataSource.query(`PRAGMA index_info(${index.name})`)) as Array<{ name: string }>) rows.push([index.name, column.name, index.unique === 1]);
  }
  return shapeOf(columns.map((c) => [c.name, c.notnull === 0 && c.pk === 0]), rows);
}

function shapeOf(columns: Array<[string, boolean]>, indexRows: Array<[name: string, column: string, unique: boolean]>): TableShape {
  const byName = new Map<string, { unique: boolean; columns: string[] }>();
  for (const [name, column, unique] of indexRows) {
    const entry = byName.get(name) ?? { unique, columns: [] };
    entry.columns.push(column);
    byName.set(name, entry);
  }
  const keys = [...new Set([...byName.values()].map((i) => `${i.unique ? 'unique' : 'index'}:${i.columns.join(',')}`))].sort();
  return { columns: Object.fromEntries(columns), keys };
}

/** What FSM_TABLES says a table must be. */
export function describedShape(table: Table): TableShape {
  return {
    columns: Object.fromEntries(table.columns.map((c) => [c.name, c.nullable === true])),
    keys: [...table.unique.map(([, columns]) => `unique:${columns.join(',')}`), ...table.indexes.map(([, columns]) => `index:${columns.join(',')}`)].sort(),
  };
}
