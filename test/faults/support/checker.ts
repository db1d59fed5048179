import { readFileSync } from 'node:fs';
import type { MachineDefinition } from '@order-fsm/core';
import type { DataSource } from 'typeorm';
import { waitFor } from '../../support/broker.js';
import { sql } from '../../support/database.js';

/** One line of the history the load driver writes. */
export interface HistoryEntry {
  t: number;
  client: number;
  op: 'passenger' | 'create' | 'event';
  orderId?: string;
  event?: string;
  requestId: string;
  type: 'invoke' | 'ok' | 'fail' | 'unknown';
  attempt?: number;
  status?: number;
  code?: string;
  version?: number;
  toState?: string;
}

export function readHistory(file: string): HistoryEntry[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as HistoryEntry);
}

/** A status message as received from the events exchange, in arrival order. */
export interface ReceivedStatus {
  messageId: string;
  orderId: string;
  version: number;
}

export interface CheckReport {
  operations: { invoked: number; ok: number; fail: number; unknown: number };
  orders: number;
  transitions: number;
  messages: { received: number; duplicates: number };
  violations: string[];
}

interface TransitionRow {
  order_id: string;
  version: number;
  event: string;
  from_state: string;
  to_state: string;
  request_id: string;
}

export interface CheckOptions {
  dataSource: DataSource;
  history: HistoryEntry[];
  machine: MachineDefinition;
  /** Orders to check besides those the history names (their transitions are all checked). */
  orderIds?: string[];
  /** What the events exchange delivered; omit to skip the message checks. */
  received?: () => Promise<ReceivedStatus[]>;
  /** How long automatic states, the relay and the queue may take to settle once the faults stop. */
  settleMs?: number;
}

const chunks = <T>(items: T[], size = 500): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** `statement` with one `IN (?)`, for every id, in chunks (on MariaDB or PostgreSQL). */
async function queryIn<R>(dataSource: DataSource, statement: string, ids: string[]): Promise<R[]> {
  const out: R[] = [];
  for (const part of chunks(ids)) if (part.length) out.push(...(await sql<R>(dataSource, statement, [part])));
  return out;
}

/**
 * Reads the history and the database after a run and lists every broken promise: an acknowledged
 * transition missing from the log, a request that failed yet applied, a version twice or a gap, a
 * step the machine does not declare, a transition without exactly one published status message, a
 * message out of version order, an order left in an automatic state. Duplicated deliveries are
 * counted, not failed: delivery is at least once.
 */
export async function checkHistory(options: CheckOptions): Promise<CheckReport> {
  const { dataSource, history, machine } = options;
  const settleMs = options.settleMs ?? 60_000;
  const violations: string[] = [];
  const ends = history.filter((e) => e.type !== 'invoke' && e.op !== 'passenger');
  const byRequest = new Map<string, HistoryEntry[]>();
  for (const e of ends) (byRequest.get(e.requestId) ?? byRequest.set(e.requestId, []).get(e.requestId)!).push(e);

  // Every order any request may have touched, and every transition of those orders.
  const requestIds = [...byRequest.keys()];
  const touched = await queryIn<{ order_id: string }>(dataSource, 'SELECT DISTINCT order_id FROM fsm_transition WHERE request_id IN (?)', requestIds);
  const orderIds = [...new Set([...touched.map((r) => r.order_id), ...ends.flatMap((e) => (e.orderId ? [e.orderId] : [])), ...(options.orderIds ?? [])])];

  // Automatic states settle: nothing may stay in one once the faults stopped.
  const automatic = machine.stateNames.filter((s) => machine.stateSpec(s)?.automatic);
  async function stillAutomatic() {
    const rows: Array<{ id: string; state: string; biz_code: string; scene_id: string }> = [];
    for (const part of chunks(orderIds)) {
      if (part.length === 0 || automatic.length === 0) continue;
      rows.push(...(await sql<(typeof rows)[number]>(dataSource, 'SELECT id, state, biz_code, scene_id FROM fsm_order WHERE id IN (?) AND state IN (?)', [part, automatic])));
    }
    return rows.filter((r) => machine.automaticWork(r.state, r.biz_code, r.scene_id));
  }
  await waitFor('automatic states to settle', async () => (await stillAutomatic()).length === 0, settleMs, 250).catch(() => undefined);
  for (const row of await stillAutomatic()) violations.push(`order ${row.id} is still in the automatic state ${row.state} ${settleMs} ms after the faults stopped`);

  // The relay drains: every status row published.
  await waitFor(
    'the outbox to drain',
    async () => Number((await queryIn<{ n: number }>(dataSource, 'SELECT COUNT(*) AS n FROM fsm_outbox WHERE order_id IN (?) AND published_at IS NULL', orderIds)).reduce((s, r) => s + Number(r.n), 0)) === 0,
    settleMs,
    250,
  ).catch(() => violations.push('the outbox did not drain'));

  const transitions = await queryIn<TransitionRow>(
    dataSource,
    'SELECT order_id, version, event, from_state, to_state, request_id FROM fsm_transition WHERE order_id IN (?) ORDER BY order_id, version',
    orderIds,
  );
  const byRequestRow = new Map(transitions.map((t) => [t.request_id, t]));

  // What the clients were told against what the log holds.
  for (const [requestId, entries] of byRequest) {
    const ok = entries.find((e) => e.type === 'ok');
    const row = byRequestRow.get(requestId);
    if (ok) {
      if (!row) violations.push(`request ${requestId} (${ok.event} on ${ok.orderId}) was acknowledged but is not in the log`);
      else if (ok.version !== undefined && (Number(row.version) !== ok.version || row.to_state !== ok.toState)) {
        violations.push(`request ${requestId} was answered version ${ok.version} -> ${ok.toState}, the log says ${row.version} -> ${row.to_state}`);
      }
    } else if (entries.every((e) => e.type === 'fail') && row) {
      violations.push(`request ${requestId} was refused (${entries.map((e) => e.code).join(', ')}) but applied as version ${row.version} of ${row.order_id}`);
    }
  }

  // Each order's log: versions 1..n once each, a chain from the initial state, every step declared.
  const perOrder = new Map<string, TransitionRow[]>();
  for (const t of transitions) (perOrder.get(t.order_id) ?? perOrder.set(t.order_id, []).get(t.order_id)!).push(t);
  const orders = await queryIn<{ id: string; state: string; version: number }>(dataSource, 'SELECT id, state, version FROM fsm_order WHERE id IN (?)', orderIds);
  for (const order of orders) {
    const log = perOrder.get(order.id) ?? [];
    let previous = machine.initial;
    log.forEach((t, i) => {
      if (Number(t.version) !== i + 1) violations.push(`order ${order.id}: version ${t.version} where ${i + 1} was due (a gap or a version twice)`);
      if (t.from_state !== previous) violations.push(`order ${order.id} v${t.version}: from ${t.from_state}, but v${i} left it in ${previous}`);
      if (!machine.allows(t.from_state, t.event, t.to_state)) violations.push(`order ${order.id} v${t.version}: ${t.from_state} -${t.event}-> ${t.to_state} is not declared`);
      previous = t.to_state;
    });
    if (Number(order.version) !== log.length || order.state !== previous) {
      violations.push(`order ${order.id} is ${order.state} v${order.version}, its log ends at ${previous} v${log.length}`);
    }
  }

  // Exactly one status row per transition, published.
  const outbox = await queryIn<{ message_id: string; n: number; published: number }>(
    dataSource,
    "SELECT message_id, COUNT(*) AS n, COUNT(published_at) AS published FROM fsm_outbox WHERE order_id IN (?) AND kind = 'status' GROUP BY message_id",
    orderIds,
  );
  const statusRows = new Map(outbox.map((r) => [r.message_id, r]));
  let purged = 0;
  for (const t of transitions) {
    const row = statusRows.get(`${t.order_id}:${t.version}`);
    if (!row) purged++;
    else if (Number(row.n) !== 1 || Number(row.published) !== 1) violations.push(`transition ${t.order_id}:${t.version} has ${row.n} status row(s), ${row.published} published`);
  }
  if (purged > 0) violations.push(`${purged} transition(s) have no status row (the outbox keeps them for an hour: none should be purged yet)`);

  // What consumers got: every transition's message at least once, each order's in version order.
  let received: ReceivedStatus[] = [];
  let duplicates = 0;
  if (options.received) {
    const expected = new Set(transitions.map((t) => `${t.order_id}:${t.version}`));
    const seen = new Set<string>();
    await waitFor(
      'every status message to arrive',
      async () => {
        received.push(...(await options.received!()));
        for (const m of received) seen.add(m.messageId);
        return [...expected].every((id) => seen.has(id));
      },
      settleMs,
      250,
    ).catch(() => undefined);
    const firstSeen = new Set<string>();
    const lastVersion = new Map<string, number>();
    received = received.filter((m) => expected.has(m.messageId));
    for (const m of received) {
      if (firstSeen.has(m.messageId)) {
        duplicates++;
        continue;
      }
      firstSeen.add(m.messageId);
      const last = lastVersion.get(m.orderId) ?? 0;
      if (m.version <= last) violations.push(`order ${m.orderId}: message v${m.version} arrived after v${last}`);
      lastVersion.set(m.orderId, Math.max(last, m.version));
    }
    for (const id of expected) if (!firstSeen.has(id)) violations.push(`no status message ever arrived for ${id}`);
  }

  return {
    operations: {
      invoked: history.filter((e) => e.type === 'invoke' && e.op !== 'passenger').length,
      ok: ends.filter((e) => e.type === 'ok').length,
      fail: ends.filter((e) => e.type === 'fail').length,
      unknown: ends.filter((e) => e.type === 'unknown').length,
    },
    orders: orders.length,
    transitions: transitions.length,
    messages: { received: received.length, duplicates },
    violations,
  };
}
