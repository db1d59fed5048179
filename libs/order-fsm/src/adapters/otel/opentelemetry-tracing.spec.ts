import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OpenTelemetryTracing } from './opentelemetry-tracing.js';

/** What an outbox row keeps and a message carries of a trace context: W3C's headers, within W3C's bounds. */
describe('OpenTelemetryTracing carriers', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracing = new OpenTelemetryTracing({ tracerProvider: provider });
  const manager = new AsyncLocalStorageContextManager();

  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  });
  afterAll(() => {
    propagation.disable();
    context.disable();
  });

  const incoming = (baggage: string) => ({
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    tracestate: 'vendor=abc',
    baggage,
  });

  it('carries traceparent, tracestate and a small baggage on, continuing the caller\'s trace', async () => {
    const carried = await tracing.inSpan('op', 'internal', {}, async (span) => span.carrier(), incoming('tenant=t1'));
    expect(Object.keys(carried).sort()).toEqual(['baggage', 'traceparent', 'tracestate']);
    expect(carried.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(carried.baggage).toBe('tenant=t1');
  });

  it('leaves out a baggage larger than it carries, on spans and on the active context alike', async () => {
    const large = Array.from({ length: 60 }, (_, i) => `key${i}=${'v'.repeat(20)}`).join(',');
    expect(large.length).toBeGreaterThan(1_024);
    const [carried, active] = await tracing.inSpan('op', 'internal', {}, async (span) => [span.carrier(), tracing.activeCarrier()], incoming(large));
    for (const headers of [carried, active!]) {
      expect(Object.keys(headers).sort()).toEqual(['traceparent', 'tracestate']);
      expect(headers.traceparent).toContain('4bf92f3577b34da6a3ce929d0e0e4736');
    }
  });
});
