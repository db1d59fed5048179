// `@order-fsm/core/prometheus`: the engine's metrics in a `prom-client` registry.
export { PrometheusOrderFsmMetrics } from './prometheus-metrics.js';
