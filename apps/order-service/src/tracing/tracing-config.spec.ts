import { describe, expect, it } from '@jest/globals';
import { tracingConfigOf } from './tracing-config.js';

describe('tracingConfigOf', () => {
  it('is off without the variables that ask for it, OTEL_SERVICE_NAME alone included', () => {
    expect(tracingConfigOf({})).toBeUndefined();
    expect(tracingConfigOf({ OTEL_SERVICE_NAME: 'taxi' })).toBeUndefined();
  });

  it('is on with an OTLP endpoint, or with an exporter named', () => {
    expect(tracingConfigOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      exporters: ['otlp'],
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      propagators: ['tracecontext'],
    });
    expect(tracingConfigOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })?.exporters).toEqual(['otlp']);
    expect(tracingConfigOf({ OTEL_TRACES_EXPORTER: 'console, otlp,console' })?.exporters).toEqual(['console', 'otlp']);
  });

  it('is off when told so, whatever else is set', () => {
    expect(tracingConfigOf({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBeUndefined();
    expect(tracingConfigOf({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBeUndefined();
  });

  it('reads the sampler and its ratio', () => {
    expect(tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })).toMatchObject({
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
  });

  it('reads the propagators: W3C trace context alone unless told, baggage when asked, none at all when told so', () => {
    expect(tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp' })?.propagators).toEqual(['tracecontext']);
    expect(tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_PROPAGATORS: 'tracecontext,baggage' })?.propagators).toEqual(['tracecontext', 'baggage']);
    expect(tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_PROPAGATORS: 'none' })?.propagators).toEqual([]);
    expect(() => tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_PROPAGATORS: 'b3' })).toThrow('OTEL_PROPAGATORS: b3');
  });

  it('stops on a value it does not know, naming the variable', () => {
    expect(() => tracingConfigOf({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow('OTEL_TRACES_EXPORTER: zipkin');
    expect(() => tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow('OTEL_TRACES_SAMPLER: sometimes');
    expect(() => tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow('OTEL_TRACES_SAMPLER_ARG');
    expect(() => tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })).toThrow('OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf');
    expect(() => tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toThrow('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: grpc');
    expect(tracingConfigOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })?.exporters).toEqual(['otlp']);
  });
});
