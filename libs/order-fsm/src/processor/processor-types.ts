import type { EventOf, StateOf } from '../model/machine.js';

/**
 * The types one processor, checker or plugin works with, named in one bag:
 *
 * ```ts
 * type PayTypes = MachineTypes<typeof parcelMachine> & { data: ParcelData; payload: PayPayload; result: PayResult };
 * class PayParcelProcessor extends AbstractStateProcessor<PayTypes> { ... }
 * ```
 *
 * Every key is optional. A key left out is the widest type, so that a checker or plugin that does
 * not say what the order's data is fits every processor, whatever data that processor declares.
 */
export interface ProcessorTypes {
  /** `ctx.order.data`: what the order keeps. Left out: `Record<string, any>`, untyped. */
  data?: object;
  /** `ctx.payload`: what the event carries. Left out: `unknown`. */
  payload?: unknown;
  /** `ctx.context`: what prepare() loads for the later steps. Left out: `Record<string, any>`, untyped. */
  context?: object;
  /** What action() and save() answer: the event's result. Left out: `unknown`. */
  result?: unknown;
  /** What getNextState() may answer, and action() and save() receive. Left out: `string`. */
  state?: string;
  /** What ctx.schedule() may name. Left out: `string`. */
  event?: string;
}

/** The states and events of a machine, as a bag: `MachineTypes<typeof parcelMachine> & { data: ParcelData }`. */
export type MachineTypes<M> = { state: StateOf<M>; event: EventOf<M> };

/**
 * What a bag that says nothing of data or context gives: an object of anything. Any object type is
 * assignable to it (`Record<string, unknown>` refuses an interface without an index signature), which
 * is what lets an untyped checker serve a typed processor.
 */
export type UntypedObject = Record<string, any>;

/** @internal what one key of the bag resolves to. */
export type DataOf<S> = S extends { data: infer D extends object } ? D : UntypedObject;
/** @internal */
export type PayloadOf<S> = S extends { payload: infer P } ? P : unknown;
/** @internal */
export type ContextOf<S> = S extends { context: infer C extends object } ? C : UntypedObject;
/** @internal */
export type ResultOf<S> = S extends { result: infer R } ? R : unknown;
/** @internal */
export type TargetOf<S> = S extends { state: infer T extends string } ? T : string;
/** @internal */
export type EventNameOf<S> = S extends { event: infer E extends string } ? E : string;
