// The metrics of one event, as the engine reports them: its count and duration, its lock wait and its
// transition, with the labels the engine bounds first. Runs on the build (npx nest build order-service):
//   node bench/metrics-hot-path.mjs [events]
// Compares the Prometheus adapter (counters tallied in plain numbers, one label object per histogram
// series) with the same metrics recorded by passing new label objects to prom-client on every call, as
// the adapter did before, and with every series' prom-client child (`labels()`) kept and used. Answers
// JSON: CPU time per event, the best of five interleaved rounds.
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

/** The adapter's metrics, as plain prom-client ones. */
function promMetrics(registry) {
  const registers = [registry];
  const events = new Counter({ name: 'e_total', help: 'e', labelNames: ['event', 'outcome'], registers });
  const duration = new Histogram({ name: 'd_seconds', help: 'd', labelNames: ['event'], buckets: SECONDS, registers });
  const lockWait = new Histogram({ name: 'l_seconds', help: 'l', labelNames: ['outcome'], buckets: SECONDS, registers });
  const transitions = new Counter({ name: 't_total', help: 't', labelNames: ['from_state', 'to_state', 'event', 'biz_code', 'scene_id', 'source'], registers });
  return { events, duration, lockWait, transitions };
}

/** The adapter before: a label object per call, checked and hashed by prom-client each time. */
function perCallLabels(registry) {
  const { events, duration, lockWait, transitions } = promMetrics(registry);
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
  const { events, duration, lockWait, transitions } = promMetrics(registry);
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

/** CPU time (this process's, user and system) per event in ns: the machine's other load adds no waiting to it. */
function run(metrics, n) {
  const started = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const order = orders[i % orders.length];
    const event = EVENTS[i % 4];
    metrics.lock(i % 8 === 0 ? 'acquired' : 'handed_off', 0.3);
    metrics.transition(labels.transition(order, STATES[(i % 4) + 1], event, 'api'));
    metrics.event(labels.event(event), 'applied', 4.2);
  }
  const used = process.cpuUsage(started);
  return ((used.user + used.system) * 1000) / n;
}

const kinds = {
  adapter: () => new PrometheusOrderFsmMetrics(new Registry()),
  cachedChildren: () => cachedChildren(new Registry()),
  perCallLabels: () => perCallLabels(new Registry()),
};
// Rounds interleaved, so that a change in the machine's load falls on every kind alike; the best round counts.
const made = Object.fromEntries(Object.entries(kinds).map(([kind, make]) => [kind, make()]));
for (const metrics of Object.values(made)) run(metrics, 200_000); // warm-up
const rounds = Object.fromEntries(Object.keys(kinds).map((kind) => [kind, []]));
for (let round = 0; round < 5; round++) for (const [kind, metrics] of Object.entries(made)) rounds[kind].push(Math.round(run(metrics, events)));
const results = Object.fromEntries(Object.entries(rounds).map(([kind, ns]) => [kind, { nsPerEvent: Math.min(...ns), rounds: ns }]));
console.log(JSON.stringify({ node: process.version, events, ...results }, null, 2));
