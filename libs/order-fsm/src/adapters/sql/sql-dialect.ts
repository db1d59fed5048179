import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel.js';

/** A statement and its values, with `?` for each value whatever the database. */
export type Statement = readonly [sql: string, params: readonly unknown[]];

/**
 * What differs between the SQL databases the engine runs on; everything else (the statements, the
 * protocol of a transition, the claims) is the store kit's, written once in SqlOrderStore.
 */
export interface SqlDialect {
  readonly name: 'mysql' | 'postgres' | 'sqlite';
  /** The statement text as this database wants its placeholders (`?` as written, or `$1, $2, ...`). */
  placeholders(sql: string): string;
  /** A time as a statement value: a Date, or epoch milliseconds where times are integers. */
  time(value: Date): unknown;
  /** A time as a row holds it, back to a Date. */
  readTime(value: unknown): Date;
  /** After a SELECT that claims rows others skip: ` FOR UPDATE SKIP LOCKED`, or nothing on a database with one writer. */
  readonly skipLocked: string;
  /** After a multi-row INSERT into the outbox: the same message id twice is the same message. */
  readonly ignoreDuplicateMessage: string;
  /** Deletes up to `limit` published messages older than `before` (no DELETE ... LIMIT in PostgreSQL, no LIMIT in a subquery in MySQL). */
  purgePublished(before: unknown, limit: number): Statement;
  /** The isolation of a claim (the relay's, the timers'), when the database's default would lock more than the rows claimed. */
  readonly claimIsolation?: IsolationLevel;
}

/** `?` -> `$1, $2, ...`, outside quoted strings; computed once per statement text. */
export function numberedPlaceholders(): (sql: string) => string {
  const cache = new Map<string, string>();
  return (sql) => {
    let numbered = cache.get(sql);
    if (numbered === undefined) {
      let n = 0;
      numbered = sql.replace(/'[^']*'|\?/g, (match) => (match === '?' ? `$${++n}` : match));
      if (cache.size < 1_000) cache.set(sql, numbered);
    }
    return numbered;
  };
}
