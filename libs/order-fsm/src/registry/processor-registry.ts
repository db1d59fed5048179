import type { RegistrationMetadata } from '../processor/registration.js';
import { AbstractStateProcessor, overridesFilter } from '../processor/abstract-state-processor.js';
import type { AbstractProcessorPlugin } from '../processor/abstract-processor-plugin.js';
import { OrderFsmConfigurationError } from '../errors/order-fsm.errors.js';
import { ANY } from '../order-fsm.constants.js';
import { messages } from '../order-fsm.messages.js';
import { dimensionKey, dimensionLevels, isValidName } from './registry-keys.js';

export interface Registration<T> {
  readonly name: string;
  readonly instance: T;
  readonly metadata: RegistrationMetadata;
}

/** state -> event -> bizCode@sceneId -> registrations */
type Table<T> = Map<string, Map<string, Map<string, Registration<T>[]>>>;

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Holds every processor and plugin by state -> event -> bizCode@sceneId. Pure: no Nest inside.
 * Fill it with register*(), then seal() it; lookups are memoized per (state, event, bizCode, sceneId).
 */
export class ProcessorRegistry {
  private readonly processors: Table<AbstractStateProcessor> = new Map();
  private readonly plugins: Table<AbstractProcessorPlugin> = new Map();
  private readonly registrations: Registration<AbstractStateProcessor>[] = [];
  private readonly pluginRegistrations: Registration<AbstractProcessorPlugin>[] = [];
  private readonly events = new Set<string>();
  private readonly problems: string[] = [];
  private readonly processorCache = new Map<string, readonly AbstractStateProcessor[]>();
  private readonly pluginCache = new Map<string, readonly AbstractProcessorPlugin[]>();
  private sealed = false;

  registerProcessor(name: string, metadata: RegistrationMetadata, instance: AbstractStateProcessor): void {
    this.add(this.processors, { name, metadata, instance });
    this.registrations.push({ name, metadata, instance });
  }

  registerPlugin(name: string, metadata: RegistrationMetadata, instance: AbstractProcessorPlugin): void {
    this.add(this.plugins, { name, metadata, instance });
    this.pluginRegistrations.push({ name, metadata, instance });
  }

  /** Records a problem found outside the registry (by the explorer) so that seal() reports all at once. */
  reportProblem(problem: string): void {
    this.problems.push(problem);
  }

  /** Validates the whole registry and freezes it; throws naming every broken class and key. */
  seal(): void {
    for (const [state, byEvent] of this.processors) {
      for (const [event, byKey] of byEvent) {
        for (const [key, entries] of byKey) {
          if (entries.length > 1 && entries.some((e) => !overridesFilter(e.instance))) {
            this.problems.push(messages.ambiguousKey(`${state}/${event}/${key}`, entries.map((e) => e.name)));
          }
        }
      }
    }
    if (this.problems.length > 0) throw new OrderFsmConfigurationError(this.problems);
    this.sealed = true;
  }

  get isSealed(): boolean {
    return this.sealed;
  }

  /** The bizCodes and sceneIds that processors and plugins name (not those they match as "any"). */
  namedDimensions(): { bizCodes: ReadonlySet<string>; sceneIds: ReadonlySet<string> } {
    const bizCodes = new Set<string>();
    const sceneIds = new Set<string>();
    for (const { metadata } of [...this.registrations, ...this.pluginRegistrations]) {
      for (const bizCode of metadata.bizCodes ?? []) bizCodes.add(bizCode);
      for (const sceneId of metadata.sceneIds ?? []) sceneIds.add(sceneId);
    }
    return { bizCodes, sceneIds };
  }

  /** The processors of the most specific level that has any; the caller applies filter(). */
  resolve(state: string, event: string, bizCode: string, sceneId: string): readonly AbstractStateProcessor[] {
    if (!this.events.has(event)) return EMPTY;
    const cacheKey = `${state}\u0000${event}\u0000${bizCode}\u0000${sceneId}`;
    let found = this.processorCache.get(cacheKey);
    if (found === undefined) {
      found = this.lookupMostSpecific(state, event, bizCode, sceneId);
      this.processorCache.set(cacheKey, found);
    }
    return found;
  }

  /** The plugins of every matching level, most specific first. */
  resolvePlugins(state: string, event: string, bizCode: string, sceneId: string): readonly AbstractProcessorPlugin[] {
    if (this.pluginRegistrations.length === 0 || !this.events.has(event)) return EMPTY;
    const cacheKey = `${state}\u0000${event}\u0000${bizCode}\u0000${sceneId}`;
    let found = this.pluginCache.get(cacheKey);
    if (found === undefined) {
      const all: AbstractProcessorPlugin[] = [];
      for (const s of [state, ANY]) {
        const byKey = this.plugins.get(s)?.get(event);
        if (!byKey) continue;
        for (const key of dimensionLevels(bizCode, sceneId)) {
          for (const entry of byKey.get(key) ?? EMPTY) if (!all.includes(entry.instance)) all.push(entry.instance);
        }
      }
      found = Object.freeze(all);
      this.pluginCache.set(cacheKey, found);
    }
    return found;
  }

  listProcessors(): readonly Registration<AbstractStateProcessor>[] {
    return this.registrations;
  }

  listPlugins(): readonly Registration<AbstractProcessorPlugin>[] {
    return this.pluginRegistrations;
  }

  private lookupMostSpecific(state: string, event: string, bizCode: string, sceneId: string) {
    for (const s of [state, ANY]) {
      const byKey = this.processors.get(s)?.get(event);
      if (!byKey) continue;
      for (const key of dimensionLevels(bizCode, sceneId)) {
        const entries = byKey.get(key);
        if (entries && entries.length > 0) return Object.freeze(entries.map((e) => e.instance));
      }
    }
    return EMPTY;
  }

  private add<T>(table: Table<T>, registration: Registration<T>): void {
    if (this.sealed) throw new Error('order-fsm: the registry is sealed');
    const { name, metadata } = registration;
    if (!isValidName(metadata.event)) {
      this.problems.push(messages.missingEvent(name));
      return;
    }
    const dims = [
      ['state', metadata.states],
      ['bizCode', metadata.bizCodes],
      ['sceneId', metadata.sceneIds],
    ] as const;
    let valid = true;
    for (const [dimension, values] of dims) {
      if (values === undefined) continue;
      if (values.length === 0) {
        this.problems.push(messages.emptyDimension(name, dimension));
        valid = false;
      }
      for (const value of values) {
        if (!isValidName(value)) {
          this.problems.push(messages.badDimension(name, dimension, value));
          valid = false;
        }
      }
    }
    if (!valid) return;
    this.events.add(metadata.event);
    for (const state of metadata.states ?? [ANY]) {
      for (const bizCode of metadata.bizCodes ?? [ANY]) {
        for (const sceneId of metadata.sceneIds ?? [ANY]) {
          const byEvent = getOrCreate(table, state, () => new Map<string, Map<string, Registration<T>[]>>());
          const byKey = getOrCreate(byEvent, metadata.event, () => new Map<string, Registration<T>[]>());
          getOrCreate(byKey, dimensionKey(bizCode, sceneId), (): Registration<T>[] => []).push(registration);
        }
      }
    }
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
