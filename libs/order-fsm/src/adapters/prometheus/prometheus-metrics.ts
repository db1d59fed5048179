import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OrderStore } from '../../ports/order-store.js';
import type { OrderFsmMetrics, TransitionLabels } from '../../ports/metrics.js';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * order-fsm's metrics on a prom-client registry:
 * - `order_fsm_events_total{event,outcome}`: every sendEvent, `outcome` applied, replayed or the
 *   error code (VERSION_CONFLICT counts the conflicts at the fence, ORDER_BUSY the lock timeouts);
 * - `order_fsm_event_duration_seconds{event}` and `order_fsm_lock_wait_seconds`;
 * - `order_fsm_outbox_backlog` and `order_fsm_outbox_oldest_seconds` (read from the store on each
 *   scrape when it is given), `order_fsm_outbox_published_total`, `order_fsm_outbox_lag_seconds`;
 * - `order_fsm_work_total{event,verdict}`: retries (`retry`, `wait`) and dead letters (`dead`);
 * - `order_fsm_transitions_total{from_state,to_state,event,biz_code,scene_id,source}`: every
 *   committed transition, labels bounded by the machine, the known dimensions and sources;
 * - `order_fsm_operator_actions_total{kind,actor}`: operators' acts, actors bounded by the operator API.
 */
export class PrometheusOrderFsmMetrics implements OrderFsmMetrics {
  private readonly events: Counter<'event' | 'outcome'>;
  private readonly duration: Histogram<'event'>;
  private readonly lockWait: Histogram;
  private readonly publishedTotal: Counter;
  private readonly lag: Histogram;
  private readonly workTotal: Counter<'event' | 'verdict'>;
  private readonly transitions: Counter<'from_state' | 'to_state' | 'event' | 'biz_code' | 'scene_id' | 'source'>;
  private readonly operatorActions: Counter<'kind' | 'actor'>;

  constructor(registry: Registry, store?: OrderStore) {
    const registers = [registry];
    this.events = new Counter({ name: 'order_fsm_events_total', help: 'sendEvent calls by event and outcome (applied, replayed or the error code)', labelNames: ['event', 'outcome'], registers });
    this.duration = new Histogram({ name: 'order_fsm_event_duration_seconds', help: 'sendEvent latency, lock wait included', labelNames: ['event'], buckets: SECONDS, registers });
    this.lockWait = new Histogram({ name: 'order_fsm_lock_wait_seconds', help: 'time spent acquiring the order lock', buckets: SECONDS, registers });
    this.publishedTotal = new Counter({ name: 'order_fsm_outbox_published_total', help: 'outbox messages acknowledged by the broker', registers });
    this.lag = new Histogram({ name: 'order_fsm_outbox_lag_seconds', help: 'from the transition to the broker ack', buckets: SECONDS, registers });
    this.workTotal = new Counter({ name: 'order_fsm_work_total', help: 'deliveries of automatic work by event and verdict (done, retry, wait, dead)', labelNames: ['event', 'verdict'], registers });
    this.transitions = new Counter({
      name: 'order_fsm_transitions_total',
      help: 'committed transitions by from-state, to-state, event, bizCode, sceneId and source (api, worker, timer, sweeper, operator)',
      labelNames: ['from_state', 'to_state', 'event', 'biz_code', 'scene_id', 'source'],
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

  event(event: string, outcome: string, durationMs: number, lockWaitMs: number): void {
    this.events.inc({ event, outcome });
    this.duration.observe({ event }, durationMs / 1000);
    this.lockWait.observe(lockWaitMs / 1000);
  }

  published(lagsMs: readonly number[]): void {
    this.publishedTotal.inc(lagsMs.length);
    for (const lag of lagsMs) this.lag.observe(lag / 1000);
  }

  work(event: string, verdict: string): void {
    this.workTotal.inc({ event, verdict });
  }

  transition(labels: TransitionLabels): void {
    this.transitions.inc({
      from_state: labels.fromState,
      to_state: labels.toState,
      event: labels.event,
      biz_code: labels.bizCode,
      scene_id: labels.sceneId,
      source: labels.source,
    });
  }

  operatorAction(kind: string, actor: string): void {
    this.operatorActions.inc({ kind, actor });
  }
}
