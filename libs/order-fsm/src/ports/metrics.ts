/** One committed transition, every label bounded: declared states and events, known dimensions and sources, else one label for the rest. */
export interface TransitionLabels {
  readonly fromState: string;
  readonly toState: string;
  readonly event: string;
  readonly bizCode: string;
  readonly sceneId: string;
  readonly source: string;
}

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
  /** One committed transition (an operator's forced move too), with its labels already bounded. */
  transition?(labels: TransitionLabels): void;
  /** One operator's act that changed an order or a dead letter: `kind` force, pause, resume, event, redrive, discard; `actor` bounded by the operator API. */
  operatorAction?(kind: string, actor: string): void;
}

export const NO_METRICS: OrderFsmMetrics = Object.freeze({
  event: () => undefined,
  published: () => undefined,
  work: () => undefined,
  transition: () => undefined,
  operatorAction: () => undefined,
});
