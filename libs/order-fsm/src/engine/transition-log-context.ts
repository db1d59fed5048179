import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written while an event is handled should carry. */
export interface TransitionLogFields {
  orderId: string;
  event: string;
  requestId: string;
  source: string;
  /** The caller's name, when a caller sent it. */
  caller?: string;
  /** The class of the processor, once one is chosen. */
  processor?: string;
  /** With tracing on: the event's trace and its sendEvent span, named as OpenTelemetry names them in logs. */
  trace_id?: string;
  span_id?: string;
}

const storage = new AsyncLocalStorage<TransitionLogFields>();

/** Runs `work` with `fields` as the transition in progress for everything it calls. */
export function withTransitionLogFields<R>(fields: TransitionLogFields, work: () => R): R {
  return storage.run(fields, work);
}

/**
 * The transition being handled where this is called (in the engine, a processor, a checker, a
 * plugin, or anything they call), or undefined outside one. Give it to your logger so every line
 * about a transition carries its order id, event, request id and processor, e.g. pino's
 * `mixin: () => transitionLogFields() ?? {}`.
 */
export function transitionLogFields(): Readonly<TransitionLogFields> | undefined {
  return storage.getStore();
}

/** @internal the engine names the processor once it has chosen one. */
export function nameProcessor(processor: string): void {
  const fields = storage.getStore();
  if (fields) fields.processor = processor;
}

/**
 * @internal a replay answers for the order its request applied to, which a create names only then:
 * its lines carry that order's id, not the id a new order would have had.
 */
export function nameOrder(orderId: string): void {
  const fields = storage.getStore();
  if (fields) fields.orderId = orderId;
}
