// The metrics of one event, as the engine reports them: its count and duration, its lock wait and its
// transition, with the labels the engine bounds first. Runs on the build (npx nest build order-service):
//   node bench/metrics-hot-path.mjs [events]
// Compares the Prometheus adapter (counters tallied in plain numbers, histogram children kept) with the
// same metrics recorded by passing label objects to prom-client on every call, as the adapter did
// before, and with every series' prom-client child kept and used. Answers JSON.
import { Counter, Histogram, Registry } from 'prom-client';
import { PrometheusOrderFsmMetrics } from '../dist/libs/order-fsm/src/adapters/prometheus/index.js';
import { MetricLabels } from '../dist/libs/order-fsm/src/engine/metric-labels.js';

const events = Number(process.argv[2] ?? 1_000_000);
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const STATES = ['CREATED', 'ACCEPTED', 'ARRIVED', 'IN_TRIP', 'TRIP_ENDED'];
const EVENTS = ['ACCEPT', 'ARRIVE', 'START_TRIP', 'END_TRIP'];
const machine = { events: new Set(EVENTS), stateNames: ['INIT', ...STATES] };
const labels = new MetricLabels(
  { machines: new Map([[2, machine]]), dimensions: { bizCodes: ['EXPRESS', 'TAXI', 'PREMIUM'], sceneIds: ['APP', 'H5'] }, refusalReasons: [] },
  { bizCodes: new Set(), sceneIds: new Set() },
);
// A mix like a busy service's: 4 events over 3 bizCodes and 2 scenes (24 transition series).
const orders = Array.from({ length: 24 }, (_, i) => ({ state: STATES[i % 4], bizCode: ['EXPRESS', 'TAXI', 'PREMIUM'][i % 3], sceneId: ['APP', 'H5'][i % 2] }));

/** The adapter before: a label object per call, checked and hashed by prom-client each time. */
function perCallLabels(registry) {
  const registers = [registry];
  const events = new Counter({ name: 'e_total', help: 'e', labelNames: ['event', 'outcome'], registers });
  const duration = new Histogram({ name: 'd_seconds', help: 'd', labelNames: ['event'], buckets: SECONDS, registers });
  const lockWait = new Histogram({ name: 'l_seconds', help: 'l', labelNames: ['outcome'], buckets: SECONDS, registers });
  const transitions = new Counter({ name: 't_total', help: 't', labelNames: ['from_state', 'to_state', 'event', 'biz_code', 'scene_id', 'source'], registers });
  return {
    event: (event, outcome, ms) => {
      events.inc({ event, outcome });
      duration.observe({ event }, ms / 1000);
    },
    lock: (outcome, ms) => lockWait.observe({ outcome }, ms / 1000),
    transition: (l) => transitions.inc({ from_state: l.fromState, to_state: l.toState, event: l.event, biz_code: l.bizCode, scene_id: l.sceneId, source: l.source }),
  };
}

/** Every series' prom-client child made once and kept (a child still checks and hashes its labels on each call). */
function cachedChildren(registry) {
  const registers = [registry];
  const events = new Counter({ name: 'e_total', help: 'e', labelNames: ['event', 'outcome'], registers });
  const duration = new Histogram({ name: 'd_seconds', help: 'd', labelNames: ['event'], buckets: SECONDS, registers });
  const lockWait = new Histogram({ name: 'l_seconds', help: 'l', labelNames: ['outcome'], buckets: SECONDS, registers });
  const transitions = new Counter({ name: 't_total', help: 't', labelNames: ['from_state', 'to_state', 'event', 'biz_code', 'scene_id', 'source'], registers });
  const children = new Map();
  const child = (key, make) => children.get(key) ?? children.set(key, make()).get(key);
  return {
    event: (event, outcome, ms) => {
      child(`e${event}\u0000${outcome}`, () => events.labels(event, outcome)).inc();
      child(`d${event}`, () => duration.labels(event)).observe(ms / 1000);
    },
    lock: (outcome, ms) => child(`l${outcome}`, () => lockWait.labels(outcome)).observe(ms / 1000),
    transition: (l) =>
      child(`t${l.fromState}\u0000${l.toState}\u0000${l.event}\u0000${l.bizCode}\u0000${l.sceneId}\u0000${l.source}`, () =>
        transitions.labels(l.fromState, l.toState, l.event, l.bizCode, l.sceneId, l.source),
      ).inc(),
  };
}

function run(metrics, n) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const order = orders[i % orders.length];
    const event = EVENTS[i % 4];
    metrics.lock(i % 8 === 0 ? 'acquired' : 'handed_off', 0.3);
    metrics.transition(labels.transition(order, STATES[(i % 4) + 1], event, 'api'));
    metrics.event(labels.event(event), 'applied', 4.2);
  }
  return Number(process.hrtime.bigint() - started) / n;
}

const kinds = {
  adapter: () => new PrometheusOrderFsmMetrics(new Registry()),
  cachedChildren: () => cachedChildren(new Registry()),
  perCallLabels: () => perCallLabels(new Registry()),
};
const results = {};
for (const [kind, make] of Object.entries(kinds)) {
  const metrics = make();
  run(metrics, 200_000); // warm-up
  const rounds = [run(metrics, events), run(metrics, events), run(metrics, events)];
  results[kind] = { nsPerEvent: Math.round(Math.min(...rounds)), rounds: rounds.map(Math.round) };
}
console.log(JSON.stringify({ node: process.version, events, ...results }, null, 2));
