// `@order-fsm/core/otel`: the engine's spans through the OpenTelemetry API.
export { OpenTelemetryTracing, type OpenTelemetryTracingOptions } from './opentelemetry-tracing.js';
