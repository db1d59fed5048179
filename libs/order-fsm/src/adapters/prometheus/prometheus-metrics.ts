import { Counter, type CounterConfiguration, Gauge, Histogram, type LabelValues, type Registry } from 'prom-client';
import type { OrderStore } from '../../ports/order-store.js';
import type { LockOutcome, OrderFsmMetrics, RefusalLabels, TransitionLabels } from '../../ports/metrics.js';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * order-fsm's metrics on a prom-client registry:
 * - `order_fsm_events_total{event,outcome}`: every sendEvent, `outcome` applied, replayed or the
 *   error code (VERSION_CONFLICT counts the conflicts at the fence, ORDER_BUSY the lock timeouts);
 * - `order_fsm_event_duration_seconds{event}`;
 * - `order_fsm_lock_wait_seconds{outcome}`: each wait for an order's lock, by how it ended
 *   (acquired, handed_off, none, busy, unavailable);
 * - `order_fsm_outbox_backlog` and `order_fsm_outbox_oldest_seconds` (read from the store on each
 *   scrape when it is given), `order_fsm_outbox_published_total`, `order_fsm_outbox_lag_seconds`;
 * - `order_fsm_work_total{event,verdict}`: retries (`retry`, `wait`) and dead letters (`dead`);
 * - `order_fsm_transitions_total{from_state,to_state,event,biz_code,scene_id,source}`: every
 *   committed transition, labels bounded by the machine, the known dimensions and sources;
 * - `order_fsm_refusals_total{event,code,reason,source}`: every refused event, `reason` the
 *   checker's or processor's for CHECK_FAILED (declared ones by name, any other `other`), else `none`;
 * - `order_fsm_operator_actions_total{kind,actor}`: operators' acts, actors bounded by the operator API.
 *
 * The engine passes labels that are already bounded. On the path of every event the counters are
 * plain numbers by series, handed to prom-client when the registry is read (a Tally), and the
 * histograms are given one label object per series, made once. prom-client checks and hashes the
 * labels of every call; its `labels()` children do too, and measured slower than label objects
 * (bench/metrics-hot-path.mjs, docs/BENCHMARKS.md), so they are not used.
 */
export class PrometheusOrderFsmMetrics implements OrderFsmMetrics {
  private readonly events: Tally<'event' | 'outcome'>;
  private readonly duration: Histogram<'event'>;
  private readonly lockWait: Histogram<'outcome'>;
  private readonly publishedTotal: Counter;
  private readonly lag: Histogram;
  private readonly workTotal: Counter<'event' | 'verdict'>;
  private readonly transitions: Tally<'from_state' | 'to_state' | 'event' | 'biz_code' | 'scene_id' | 'source'>;
  private readonly refusals: Tally<'event' | 'code' | 'reason' | 'source'>;
  private readonly operatorActions: Counter<'kind' | 'actor'>;
  /** The histograms' label objects made so far, by their label value. */
  private readonly durationLabels = new Map<string, LabelValues<'event'>>();
  private readonly lockLabels = new Map<string, LabelValues<'outcome'>>();

  constructor(registry: Registry, store?: OrderStore) {
    const registers = [registry];
    this.events = new Tally({ name: 'order_fsm_events_total', help: 'sendEvent calls by event and outcome (applied, replayed or the error code)', labelNames: ['event', 'outcome'], registers });
    this.duration = new Histogram({ name: 'order_fsm_event_duration_seconds', help: 'sendEvent latency, lock wait included', labelNames: ['event'], buckets: SECONDS, registers });
    this.lockWait = new Histogram({
      name: 'order_fsm_lock_wait_seconds',
      help: "time spent waiting for an order's lock, by outcome (acquired, handed_off, none, busy, unavailable)",
      labelNames: ['outcome'],
      buckets: SECONDS,
      registers,
    });
    this.publishedTotal = new Counter({ name: 'order_fsm_outbox_published_total', help: 'outbox messages acknowledged by the broker', registers });
    this.lag = new Histogram({ name: 'order_fsm_outbox_lag_seconds', help: 'from the transition to the broker ack', buckets: SECONDS, registers });
    this.workTotal = new Counter({ name: 'order_fsm_work_total', help: 'deliveries of automatic work by event and verdict (done, retry, wait, dead)', labelNames: ['event', 'verdict'], registers });
    this.transitions = new Tally({
      name: 'order_fsm_transitions_total',
      help: 'committed transitions by from-state, to-state, event, bizCode, sceneId and source (api, worker, timer, sweeper, operator, migration, held)',
      labelNames: ['from_state', 'to_state', 'event', 'biz_code', 'scene_id', 'source'],
      registers,
    });
    this.refusals = new Tally({
      name: 'order_fsm_refusals_total',
      help: 'refused events by event, error code, reason (the checker\'s for CHECK_FAILED, else none) and source',
      labelNames: ['event', 'code', 'reason', 'source'],
      registers,
    });
    this.operatorActions = new Counter({
      name: 'order_fsm_operator_actions_total',
      help: "operators' acts that changed something, by kind (force, pause, resume, event, redrive, discard) and actor",
      labelNames: ['kind', 'actor'],
      registers,
    });
    if (store) {
      const backlog = () => store.outboxBacklog().catch(() => null);
      let last: Promise<Awaited<ReturnType<typeof backlog>>> | undefined;
      // One query serves both gauges of a scrape.
      const read = () => (last ??= backlog().finally(() => setTimeout(() => (last = undefined), 100)));
      new Gauge({
        name: 'order_fsm_outbox_backlog',
        help: 'outbox messages not yet published',
        registers,
        async collect() {
          const b = await read();
          if (b) this.set(b.count);
        },
      });
      new Gauge({
        name: 'order_fsm_outbox_oldest_seconds',
        help: 'age of the oldest unpublished outbox message',
        registers,
        async collect() {
          const b = await read();
          if (b) this.set(b.oldestCreatedAt ? Math.max(0, (Date.now() - b.oldestCreatedAt.getTime()) / 1000) : 0);
        },
      });
    }
  }

  event(event: string, outcome: string, durationMs: number): void {
    this.events.inc(`${event}\u0000${outcome}`, () => ({ event, outcome }));
    this.duration.observe(made(this.durationLabels, event, () => ({ event })), durationMs / 1000);
  }

  lock(outcome: LockOutcome, waitMs: number): void {
    this.lockWait.observe(made(this.lockLabels, outcome, () => ({ outcome })), waitMs / 1000);
  }

  published(lagsMs: readonly number[]): void {
    this.publishedTotal.inc(lagsMs.length);
    for (const lag of lagsMs) this.lag.observe(lag / 1000);
  }

  work(event: string, verdict: string): void {
    this.workTotal.inc({ event, verdict });
  }

  transition(labels: TransitionLabels): void {
    const { fromState, toState, event, bizCode, sceneId, source } = labels;
    const key = `${fromState}\u0000${toState}\u0000${event}\u0000${bizCode}\u0000${sceneId}\u0000${source}`;
    this.transitions.inc(key, () => ({ from_state: fromState, to_state: toState, event, biz_code: bizCode, scene_id: sceneId, source }));
  }

  refusal(labels: RefusalLabels): void {
    const { event, code, reason, source } = labels;
    this.refusals.inc(`${event}\u0000${code}\u0000${reason}\u0000${source}`, () => ({ event, code, reason, source }));
  }

  operatorAction(kind: string, actor: string): void {
    this.operatorActions.inc({ kind, actor });
  }
}

/** The value of `key`, made by `make` the first time. */
function made<V>(values: Map<string, V>, key: string, make: () => V): V {
  let found = values.get(key);
  if (found === undefined) {
    found = make();
    values.set(key, found);
  }
  return found;
}

/**
 * A prom-client counter whose series are counted here, in plain numbers by key, and handed to the
 * counter each time the registry is read: an increment is a map lookup, with no label check or hash.
 * The counts are the tally's own: `registry.resetMetrics()` does not clear them (a counter never goes back).
 */
class Tally<L extends string> {
  private readonly counts = new Map<string, { readonly labels: LabelValues<L>; value: number }>();

  constructor(configuration: CounterConfiguration<L>) {
    const counts = this.counts;
    new Counter<L>({
      ...configuration,
      collect() {
        this.reset();
        for (const { labels, value } of counts.values()) this.inc(labels, value);
      },
    });
  }

  /** Counts one in the series of `key` (its label values joined), whose labels `labels` makes the first time. */
  inc(key: string, labels: () => LabelValues<L>): void {
    const found = this.counts.get(key);
    if (found) found.value++;
    else this.counts.set(key, { labels: labels(), value: 1 });
  }
}
