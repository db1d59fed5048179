/**
 * What the engine reports as it works. Give `OrderFsmModule` an implementation in `metrics`
 * (`PrometheusOrderFsmMetrics` for prom-client); without one nothing is recorded.
 */
export interface OrderFsmMetrics {
  /** One sendEvent: `outcome` is `applied`, `replayed` or the error code; times in milliseconds. */
  event(event: string, outcome: string, durationMs: number, lockWaitMs: number): void;
  /** Status and work messages the relay got acknowledged, with their lag from commit to ack. */
  published(lagsMs: readonly number[]): void;
  /** A worker's verdict on one delivery of automatic work: done, retry, wait or dead. */
  work(event: string, verdict: string): void;
}

export const NO_METRICS: OrderFsmMetrics = Object.freeze({
  event: () => undefined,
  published: () => undefined,
  work: () => undefined,
});
