import type { TraceCarrier } from '../model/messages.js';

export type { TraceCarrier };

/** Attribute values a span takes. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** The span in progress, as the engine and the workers see it. */
export interface TraceSpan {
  /** Ids as hex, for log lines about the span's work. */
  readonly traceId: string;
  readonly spanId: string;
  setAttribute(key: string, value: string | number | boolean): void;
  /** Marks the span failed, with the error's code (`order_fsm.error_code`) and message. */
  fail(error: unknown): void;
  /** This span's context as headers, for a message that should continue the trace. */
  carrier(): TraceCarrier;
}

/** How a span relates to others: the engine's own work, a message published, a message handled. */
export type SpanRole = 'internal' | 'producer' | 'consumer';

/**
 * Where the engine reports what it does as spans. Give `OrderFsmModule` one in `tracing`
 * (`OpenTelemetryTracing` from `@order-fsm/core/otel`); without one the engine makes no span and
 * stores no trace context.
 */
export interface OrderFsmTracing {
  /**
   * Runs `work` in a new span, active for everything it calls: a child of the active span, or of
   * `parent` (a message's headers) when given. The span ends when `work` settles, failed if it threw.
   */
  inSpan<R>(name: string, role: SpanRole, attributes: SpanAttributes, work: (span: TraceSpan) => Promise<R>, parent?: TraceCarrier): Promise<R>;
  /**
   * Starts a span that the caller ends: for work that settles later than one call returns (a batch
   * of publishes, each span ending at its message's acknowledgement). Not made active.
   */
  startSpan(name: string, role: SpanRole, attributes: SpanAttributes, parent?: TraceCarrier): TraceSpan & { end(): void };
  /** The active span's context as headers, or undefined outside any span: what a transition stores with its outbox rows. */
  activeCarrier(): TraceCarrier | undefined;
}
