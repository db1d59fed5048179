import { type Context, context, propagation, type Span, SpanKind, SpanStatusCode, trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { OrderFsmError } from '../../errors/order-fsm.errors.js';
import type { OrderFsmTracing, SpanAttributes, SpanRole, TraceCarrier, TraceSpan } from '../../ports/tracing.js';

export interface OpenTelemetryTracingOptions {
  /** Default: the global one (`trace.getTracerProvider()`), which the SDK registers. */
  tracerProvider?: TracerProvider;
  /** The instrumentation scope's name. Default `@order-fsm/core`. */
  name?: string;
  version?: string;
}

const KIND: Record<SpanRole, SpanKind> = { internal: SpanKind.INTERNAL, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER };

const carrierGetter = {
  keys: (carrier: TraceCarrier) => Object.keys(carrier),
  get: (carrier: TraceCarrier, key: string) => carrier[key],
};

/**
 * The most of a trace context an outbox row keeps and a message carries: W3C's own bounds
 * (`tracestate` at most 32 members, about 512 characters; `baggage` at most 8,192 bytes, here 1,024).
 * Whatever the propagators wrote beyond them (a caller's oversized baggage, another propagator's
 * headers) is left out, so that no caller decides how much every message downstream carries.
 */
const CARRIED: Readonly<Record<string, number>> = { traceparent: 128, tracestate: 512, baggage: 1_024 };

function injected(from: Context): TraceCarrier {
  const headers: Record<string, string> = {};
  propagation.inject(from, headers);
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const limit = CARRIED[name];
    if (limit !== undefined && value.length <= limit) kept[name] = value;
  }
  return kept;
}

/** One OpenTelemetry span as the engine uses it. */
class OtelSpan implements TraceSpan {
  constructor(
    readonly span: Span,
    readonly context: Context,
  ) {}

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  get spanId(): string {
    return this.span.spanContext().spanId;
  }

  setAttribute(key: string, value: string | number | boolean): void {
    this.span.setAttribute(key, value);
  }

  fail(error: unknown): void {
    if (error instanceof OrderFsmError) this.span.setAttribute('order_fsm.error_code', error.code);
    if (error instanceof Error) this.span.recordException(error);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }

  end(): void {
    this.span.end();
  }

  carrier(): TraceCarrier {
    return injected(this.context);
  }
}

/**
 * The engine's spans through the OpenTelemetry API: a no-op until an SDK registers a tracer
 * provider, and the API alone is what it loads (`@opentelemetry/api`, an optional peer dependency).
 * The trace context that outbox rows store and messages carry is written and read by the global
 * propagator, bounded to `traceparent`, `tracestate` and `baggage` of W3C's sizes (CARRIED).
 */
export class OpenTelemetryTracing implements OrderFsmTracing {
  private readonly tracer: Tracer;

  constructor(options: OpenTelemetryTracingOptions = {}) {
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    this.tracer = provider.getTracer(options.name ?? '@order-fsm/core', options.version);
  }

  inSpan<R>(name: string, role: SpanRole, attributes: SpanAttributes, work: (span: TraceSpan) => Promise<R>, parent?: TraceCarrier): Promise<R> {
    const traced = this.startSpan(name, role, attributes, parent);
    const { span } = traced;
    return context.with(traced.context, async () => {
      try {
        return await work(traced);
      } catch (error) {
        traced.fail(error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  startSpan(name: string, role: SpanRole, attributes: SpanAttributes, parent?: TraceCarrier): OtelSpan {
    const parentContext = parent ? propagation.extract(context.active(), parent, carrierGetter) : context.active();
    const span = this.tracer.startSpan(name, { kind: KIND[role], attributes }, parentContext);
    return new OtelSpan(span, trace.setSpan(parentContext, span));
  }

  activeCarrier(): TraceCarrier | undefined {
    const active = context.active();
    if (!trace.getSpan(active)?.spanContext().traceId) return undefined;
    const headers = injected(active);
    return Object.keys(headers).length > 0 ? headers : undefined;
  }
}
