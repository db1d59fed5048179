/**
 * Whether the service traces, from the standard OpenTelemetry variables. Read before anything else
 * is loaded: this file imports nothing, so a service that does not trace loads no part of the OpenTelemetry SDK.
 */

export type TraceExporterName = 'otlp' | 'console';

export type TraceSamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

export type PropagatorName = 'tracecontext' | 'baggage';

export interface TracingConfig {
  /** Where spans go: OTLP over HTTP (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), the console, or both. */
  readonly exporters: readonly TraceExporterName[];
  readonly sampler: TraceSamplerName;
  /** For the ratio samplers: the share of traces kept, 0 to 1. */
  readonly samplerRatio: number;
  /** What requests and messages carry the trace in: W3C `traceparent`/`tracestate`, W3C `baggage`; none at all when empty. */
  readonly propagators: readonly PropagatorName[];
}

const EXPORTERS: readonly string[] = ['otlp', 'console'];
const PROPAGATORS: readonly string[] = ['tracecontext', 'baggage', 'none'];
const SAMPLERS: readonly string[] = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/** A comma-separated list, lower case, without blanks or repeats. */
const listOf = (value: string | undefined): string[] => [
  ...new Set(
    (value ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name.length > 0),
  ),
];
const isTrue = (value: string | undefined): boolean => value?.trim().toLowerCase() === 'true';

/**
 * Tracing is on when OTEL_TRACES_EXPORTER names an exporter (`otlp`, `console`), or when an OTLP
 * endpoint is set (then `otlp`); off when neither is, when OTEL_TRACES_EXPORTER is `none`, or when
 * OTEL_SDK_DISABLED is `true`. A value it does not know stops the service with a message that says which.
 */
export function tracingConfigOf(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  if (isTrue(env.OTEL_SDK_DISABLED)) return undefined;
  const named = listOf(env.OTEL_TRACES_EXPORTER);
  for (const name of named) {
    if (name !== 'none' && !EXPORTERS.includes(name)) throw new Error(`OTEL_TRACES_EXPORTER: ${name} is not an exporter this service has (otlp, console or none)`);
  }
  if (named.includes('none')) return undefined;
  const exporters = (named.length > 0 ? named : env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? ['otlp'] : []) as TraceExporterName[];
  if (exporters.length === 0) return undefined;
  const sampler = (env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_always_on') as TraceSamplerName;
  if (!SAMPLERS.includes(sampler)) throw new Error(`OTEL_TRACES_SAMPLER: ${sampler} is not one of ${SAMPLERS.join(', ')}`);
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  const samplerRatio = arg ? Number(arg) : 1;
  if (!(samplerRatio >= 0 && samplerRatio <= 1)) throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, not ${arg}`);
  // The exporter sends OTLP over HTTP as JSON: a collector set up for another protocol is told at start, not by lost spans.
  for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
    const protocol = env[name]?.trim().toLowerCase();
    if (protocol && protocol !== 'http/json') throw new Error(`${name}: ${protocol} is not a protocol this service sends (http/json)`);
  }
  const propagators = listOf(env.OTEL_PROPAGATORS);
  for (const name of propagators) {
    if (!PROPAGATORS.includes(name)) throw new Error(`OTEL_PROPAGATORS: ${name} is not one this service has (tracecontext, baggage or none)`);
  }
  return {
    exporters,
    sampler,
    samplerRatio,
    // W3C trace context alone unless told: a caller's baggage would otherwise be kept with every
    // outbox row and sent on with every message it leads to (docs/OPERATIONS.md, "Tracing").
    propagators: propagators.length === 0 ? ['tracecontext'] : (propagators.filter((name) => name !== 'none') as PropagatorName[]),
  };
}
