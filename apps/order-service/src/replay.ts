// `cli.js replay`: real orders' transition logs, read from DATABASE_URL with SELECTs only, replayed
// against a candidate machine in testbeds of their own (docs/replay.md).
import type { OrderStore } from '@order-fsm/core';
import { MysqlOrderStore } from '@order-fsm/core/mysql';
import { PostgresOrderStore } from '@order-fsm/core/postgres';
import { type ReplayDifference, type ReplayedOrder, type ReplayReport, type ShadowReplayCandidate, shadowReplay } from '@order-fsm/core/testing';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { databaseKindOf } from './config/service-config.js';
import { dataSourceOptions } from './infrastructure/database.js';

export const REPLAY_USAGE =
  'usage: cli.js replay --machine <module> (--since <ISO time | 30m | 24h | 7d> [--until <...>] | --order <id> ...) [--limit <n>] [--json]';

/** A bad argument: its message names the argument. */
export class ReplayArgumentError extends Error {}

export interface ReplayArguments {
  readonly machine: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly orderIds: readonly string[];
  readonly limit?: number;
  readonly json: boolean;
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO time, or a duration before `now` (`90m`, `24h`, `7d`). */
export function parseTime(name: string, value: string | undefined, now: Date): Date {
  if (value === undefined || value.startsWith('--')) throw new ReplayArgumentError(`${name} needs a value: an ISO time or a duration such as 24h`);
  const duration = DURATION.exec(value);
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]);
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw new ReplayArgumentError(`${name}: ${JSON.stringify(value)} is neither an ISO time nor a duration such as 24h`);
  return at;
}

export function parseReplayArguments(args: readonly string[], now = new Date()): ReplayArguments {
  let machine: string | undefined;
  let since: Date | undefined;
  let until: Date | undefined;
  let limit: number | undefined;
  let json = false;
  const orderIds: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = args[i + 1];
    const needValue = () => {
      if (value === undefined || value.startsWith('--')) throw new ReplayArgumentError(`${arg} needs a value`);
      i++;
      return value;
    };
    switch (arg) {
      case '--machine':
        machine = needValue();
        break;
      case '--since':
        since = parseTime(arg, value, now);
        i++;
        break;
      case '--until':
        until = parseTime(arg, value, now);
        i++;
        break;
      case '--order':
        orderIds.push(needValue());
        break;
      case '--limit': {
        const raw = needValue();
        limit = Number(raw);
        if (!/^\d+$/.test(raw) || limit < 1) throw new ReplayArgumentError(`--limit: ${JSON.stringify(raw)} is not a whole number of orders above 0`);
        break;
      }
      case '--json':
        json = true;
        break;
      default:
        throw new ReplayArgumentError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (machine === undefined) throw new ReplayArgumentError('--machine is required: the module whose default export (or `candidate`) is the candidate');
  if (since === undefined && orderIds.length === 0) throw new ReplayArgumentError('--since is required (or name orders with --order)');
  if (since && until && until <= since) throw new ReplayArgumentError('--until must be after --since');
  return { machine, since, until, orderIds, limit, json };
}

/** The candidate a module exports: `candidate` or its default, as options or a function answering them. */
export async function loadCandidate(path: string): Promise<ShadowReplayCandidate> {
  const file = resolve(process.cwd(), path);
  let loaded: Record<string, unknown>;
  try {
    loaded = await import(file);
  } catch (error) {
    throw new ReplayArgumentError(`--machine: cannot load ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let exported = loaded.candidate ?? loaded.default;
  if (typeof exported === 'function') exported = await (exported as () => unknown)();
  const machine = (exported as Partial<ShadowReplayCandidate> | undefined)?.machine;
  if (typeof machine?.sendersOf !== 'function') {
    throw new ReplayArgumentError(`--machine: ${file} exports no candidate (a default export or \`candidate\` with a machine from defineMachine())`);
  }
  return exported as ShadowReplayCandidate;
}

/**
 * The orders with a transition in [since, until) (or those named), each with its whole log: plain
 * SELECTs through the store's own reading of the log.
 */
export async function* readOrders(dataSource: DataSource, args: Pick<ReplayArguments, 'since' | 'until' | 'orderIds' | 'limit'>): AsyncGenerator<ReplayedOrder> {
  const postgres = dataSource.options.type === 'postgres';
  const store: OrderStore = postgres ? new PostgresOrderStore(dataSource) : new MysqlOrderStore(dataSource);
  const params: unknown[] = [];
  const p = (value: unknown) => (params.push(value), postgres ? `$${params.length}` : '?');
  const where: string[] = [];
  if (args.since) where.push(`created_at >= ${p(args.since)}`);
  if (args.until) where.push(`created_at < ${p(args.until)}`);
  if (args.orderIds.length > 0) where.push(`order_id IN (${args.orderIds.map(p).join(', ')})`);
  const limit = args.limit ? ` LIMIT ${args.limit}` : '';
  const selected: Array<{ order_id: string }> = await dataSource.query(
    `SELECT order_id, MIN(created_at) AS first_at FROM fsm_transition WHERE ${where.join(' AND ')} GROUP BY order_id ORDER BY first_at, order_id${limit}`,
    params,
  );
  for (const { order_id: orderId } of selected) {
    const [order]: Array<{ biz_code: string; scene_id: string }> = await dataSource.query(
      `SELECT biz_code, scene_id FROM fsm_order WHERE id = ${postgres ? '$1' : '?'}`,
      [orderId],
    );
    if (!order) continue;
    yield { orderId, bizCode: order.biz_code, sceneId: order.scene_id, transitions: await store.listTransitions(orderId) };
  }
}

const describeCandidate = (d: ReplayDifference): string =>
  'refused' in d.candidate ? `refused ${d.candidate.refused.code}: ${d.candidate.refused.message}` : `${d.candidate.toState} by ${d.candidate.processor ?? '-'}`;

/** The report for people: one line per difference, then the summary. */
export function formatReport(report: ReplayReport, machine: string): string[] {
  const lines: string[] = [];
  const rows = report.differences.map((d) => [d.kind, d.orderId, `v${d.version}`, d.event, d.fromState, `${d.logged.toState} by ${d.logged.processor ?? '-'}`, describeCandidate(d)]);
  if (rows.length > 0) {
    const header = ['KIND', 'ORDER', 'VERSION', 'EVENT', 'FROM', 'LOGGED', 'CANDIDATE'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const row of [header, ...rows]) lines.push(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
  }
  for (const skipped of report.incomplete) lines.push(`incomplete  ${skipped.orderId}: ${skipped.reason} (not replayed)`);
  lines.push(
    `replayed ${report.orders} order(s), ${report.events} event(s) against ${machine}: ${report.differences.length} difference(s)` +
      (report.incomplete.length > 0 ? `, ${report.incomplete.length} incomplete order(s) skipped` : ''),
  );
  return lines;
}

/** Exit codes: 0 no differences, 2 differences, 1 an error (a bad argument's message names it). */
export async function replayCommand(args: readonly string[], out: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed: ReplayArguments;
  let candidate: ShadowReplayCandidate;
  try {
    parsed = parseReplayArguments(args);
    if (!env.DATABASE_URL) throw new ReplayArgumentError('DATABASE_URL is not set: the database whose orders to replay (mysql:// or postgres://)');
    databaseKindOf(env.DATABASE_URL);
    candidate = await loadCandidate(parsed.machine);
  } catch (error) {
    out(`error: ${error instanceof Error ? error.message : String(error)}`);
    out(REPLAY_USAGE);
    return 1;
  }
  // Read only: no migrations, no synchronize, two connections.
  const dataSource = new DataSource({ ...dataSourceOptions(env.DATABASE_URL, false, 2), migrations: [] });
  let report: ReplayReport;
  try {
    await dataSource.initialize();
    report = await shadowReplay({ orders: readOrders(dataSource, parsed), candidate });
  } catch (error) {
    out(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
  if (parsed.json) out(JSON.stringify(report, null, 2));
  else for (const line of formatReport(report, parsed.machine)) out(line);
  return report.differences.length > 0 ? 2 : 0;
}
