import type { MachineDefinition } from '../model/machine.js';
import type { PayloadSchema } from '../processor/registration.js';
import type { ProcessorRegistry } from '../registry/processor-registry.js';

/** One event of the served machines, as a client may send it: who sends it, and the payloads its processors take. */
export interface EventDescription {
  readonly event: string;
  /** The served versions that declare it, oldest first. */
  readonly versions: readonly number[];
  /** Who may send it (`system` and role names), over every version; undefined when the machines declare no senders. */
  readonly sentBy?: readonly string[];
  /** True when it only leaves the initial state: it creates an order. */
  readonly creates: boolean;
  /**
   * The payloads its processors declare, one per distinct schema, each with the processors that
   * take it. A processor that declares none is listed under `undeclared`.
   */
  readonly payloads: readonly { readonly schema: PayloadSchema; readonly processors: readonly string[] }[];
  readonly undeclared: readonly string[];
}

/**
 * Every event of every served version, with the payload schemas its processors declare
 * (`@OrderProcessor({ payload })`), sorted by name. What a service's API description is made from.
 */
export function describeEvents(machines: ReadonlyMap<number, MachineDefinition>, registry: ProcessorRegistry): EventDescription[] {
  const versions = [...machines.keys()].sort((a, b) => a - b);
  const events = new Set(versions.flatMap((version) => [...machines.get(version)!.events]));
  return [...events].sort().map((event) => {
    const declaring = versions.filter((version) => machines.get(version)!.events.has(event));
    const senders = new Set<string>();
    let declaresSenders = false;
    let creates = true;
    for (const version of declaring) {
      const machine = machines.get(version)!;
      const sentBy = machine.sendersOf(event);
      if (sentBy) {
        declaresSenders = true;
        for (const sender of sentBy) senders.add(sender);
      }
      if (machine.transitions.some((t) => t.event === event && t.from !== machine.initial)) creates = false;
    }
    const payloads = new Map<string, { schema: PayloadSchema; processors: string[] }>();
    const undeclared = new Set<string>();
    for (const version of declaring) {
      for (const { name, metadata } of registry.listProcessors(version)) {
        if (metadata.event !== event) continue;
        if (!metadata.payload) {
          undeclared.add(name);
          continue;
        }
        const key = JSON.stringify(metadata.payload);
        const entry = payloads.get(key) ?? { schema: metadata.payload, processors: [] };
        if (!entry.processors.includes(name)) entry.processors.push(name);
        payloads.set(key, entry);
      }
    }
    return {
      event,
      versions: declaring,
      ...(declaresSenders && { sentBy: [...senders].sort() }),
      creates,
      payloads: [...payloads.values()],
      undeclared: [...undeclared],
    };
  });
}
