import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, getRPCMetadata, RPCType, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { defaultResource, detectResources, envDetector } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { OpenTelemetryTracing } from '@order-fsm/core/otel';
import type { OrderFsmTracing } from '@order-fsm/core';
import { type DynamicModule, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { TracingConfig } from './tracing-config.js';

/** What is not worth a trace: the probes and the scrapes. */
const UNTRACED_PATHS = ['/health', '/metrics'];

export interface StartedTracing {
  /** Exports what is left and stops: after the application closed. */
  shutdown(): Promise<void>;
}

export interface TracingOverrides {
  /** Span processors instead of the exporters the configuration names (the tests' in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

function samplerOf(config: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function exporterOf(name: TracingConfig['exporters'][number]): SpanExporter {
  // The OTLP exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS and _TIMEOUT itself.
  return name === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter();
}

/**
 * Starts the OpenTelemetry SDK: a tracer provider with the service's resource (OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES), the context manager, the W3C propagators (OTEL_PROPAGATORS) and the HTTP server's
 * instrumentation. It must run before Fastify is loaded: the instrumentation patches `http` as
 * Fastify (CommonJS) requires it.
 */
export function startTracing(config: TracingConfig, overrides: TracingOverrides = {}): StartedTracing {
  const resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  const spanProcessors = overrides.spanProcessors ?? config.exporters.map((name) => new BatchSpanProcessor({ exporter: exporterOf(name) }));
  const provider = new TracerProvider({ resource, sampler: samplerOf(config), spanProcessors: [...spanProcessors] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const propagators = config.propagators.map((name) => (name === 'baggage' ? new W3CBaggagePropagator() : new W3CTraceContextPropagator()));
  propagation.setGlobalPropagator(new CompositePropagator({ propagators }));
  trace.setGlobalTracerProvider(provider);
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        disableOutgoingRequestInstrumentation: true,
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.some((path) => request.url === path || request.url?.startsWith(`${path}/`) || request.url?.startsWith(`${path}?`)),
      }),
    ],
  });
  return {
    async shutdown() {
      unregister();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The application's module, and after the application closed the SDK's shutdown: the spans still batched are exported. */
export function withTracingShutdown(module: DynamicModule, started: StartedTracing): DynamicModule {
  class TracingShutdown implements OnApplicationShutdown {
    onApplicationShutdown(): Promise<void> {
      return started.shutdown();
    }
  }
  @Module({})
  class TracedServiceModule {}
  return { module: TracedServiceModule, imports: [module], providers: [TracingShutdown] };
}

/** The engine's spans, through the tracer provider startTracing() registered. */
export function engineTracing(): OrderFsmTracing {
  return new OpenTelemetryTracing();
}

/**
 * Names each HTTP server span by its route (`POST /orders/:orderId/events`, attribute `http.route`):
 * the HTTP instrumentation knows the path only, Fastify knows the route. It is how the
 * instrumentations of the web frameworks tell it (the RPC metadata of the request's context).
 */
export function nameHttpSpansByRoute(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', async (request) => {
    const metadata = getRPCMetadata(context.active());
    const route = request.routeOptions.url;
    if (metadata?.type === RPCType.HTTP && route) metadata.route = route;
  });
}
