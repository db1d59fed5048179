import type { RegistrationMetadata } from '../processor/registration.js';
import { AbstractStateProcessor, overridesFilter } from '../processor/abstract-state-processor.js';
import type { AbstractProcessorPlugin } from '../processor/abstract-processor-plugin.js';
import type { AbstractLateEventCompensation } from '../processor/abstract-late-event-compensation.js';
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
  private readonly compensations: Table<AbstractLateEventCompensation> = new Map();
  private readonly compensationRegistrations: Registration<AbstractLateEventCompensation>[] = [];
  private currentVersion = 1;
  private readonly registrations: Registration<AbstractStateProcessor>[] = [];
  private readonly pluginRegistrations: Registration<AbstractProcessorPlugin>[] = [];
  private readonly events = new Set<string>();
  private readonly problems: string[] = [];
  private readonly processorCache = new Map<string, readonly AbstractStateProcessor[]>();
  private readonly pluginCache = new Map<string, readonly AbstractProcessorPlugin[]>();
  private sealed = false;

  /** The machine version that registrations naming no `versions` serve: the current one. Set before registering. */
  setCurrentVersion(version: number): void {
    if (this.sealed) throw new Error('order-fsm: the registry is sealed');
    this.currentVersion = version;
  }

  /** The versions a registration serves. */
  versionsOf(metadata: RegistrationMetadata): readonly number[] {
    return metadata.versions ?? [this.currentVersion];
  }

  private serves(metadata: RegistrationMetadata, version: number): boolean {
    return (metadata.versions ?? [this.currentVersion]).includes(version);
  }

  /** A late event's compensation: it runs when the machine's policy for the event in a state is `compensate`. */
  registerCompensation(name: string, metadata: RegistrationMetadata, instance: AbstractLateEventCompensation): void {
    this.add(this.compensations, { name, metadata, instance });
    this.compensationRegistrations.push({ name, metadata, instance });
  }

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
          for (const version of new Set(entries.flatMap((e) => this.versionsOf(e.metadata)))) {
            const serving = entries.filter((e) => this.serves(e.metadata, version));
            if (serving.length > 1 && serving.some((e) => !overridesFilter(e.instance))) {
              this.problems.push(messages.ambiguousKey(`${state}/${event}/${key}${version === this.currentVersion ? '' : ` (v${version})`}`, serving.map((e) => e.name)));
            }
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

  /**
   * The processors of the most specific level that has any serving the machine version (default:
   * the current one); the caller applies filter().
   */
  resolve(state: string, event: string, bizCode: string, sceneId: string, version = this.currentVersion): readonly AbstractStateProcessor[] {
    if (!this.events.has(event)) return EMPTY;
    const cacheKey = `${state}\u0000${event}\u0000${bizCode}\u0000${sceneId}\u0000${version}`;
    let found = this.processorCache.get(cacheKey);
    if (found === undefined) {
      found = this.lookupMostSpecific(this.processors, state, event, bizCode, sceneId, version);
      this.processorCache.set(cacheKey, found);
    }
    return found;
  }

  /** The compensations of the most specific level serving the version; the caller applies filter(). */
  resolveCompensations(state: string, event: string, bizCode: string, sceneId: string, version = this.currentVersion): readonly AbstractLateEventCompensation[] {
    if (this.compensationRegistrations.length === 0) return EMPTY;
    return this.lookupMostSpecific(this.compensations, state, event, bizCode, sceneId, version);
  }

  /** The plugins of every matching level serving the version, most specific first. */
  resolvePlugins(state: string, event: string, bizCode: string, sceneId: string, version = this.currentVersion): readonly AbstractProcessorPlugin[] {
    if (this.pluginRegistrations.length === 0 || !this.events.has(event)) return EMPTY;
    const cacheKey = `${state}\u0000${event}\u0000${bizCode}\u0000${sceneId}\u0000${version}`;
    let found = this.pluginCache.get(cacheKey);
    if (found === undefined) {
      const all: AbstractProcessorPlugin[] = [];
      for (const s of [state, ANY]) {
        const byKey = this.plugins.get(s)?.get(event);
        if (!byKey) continue;
        for (const key of dimensionLevels(bizCode, sceneId)) {
          for (const entry of byKey.get(key) ?? EMPTY) if (this.serves(entry.metadata, version) && !all.includes(entry.instance)) all.push(entry.instance);
        }
      }
      found = Object.freeze(all);
      this.pluginCache.set(cacheKey, found);
    }
    return found;
  }

  /** The processors, all or those serving one machine version. */
  listProcessors(version?: number): readonly Registration<AbstractStateProcessor>[] {
    return version === undefined ? this.registrations : this.registrations.filter((r) => this.serves(r.metadata, version));
  }

  listPlugins(version?: number): readonly Registration<AbstractProcessorPlugin>[] {
    return version === undefined ? this.pluginRegistrations : this.pluginRegistrations.filter((r) => this.serves(r.metadata, version));
  }

  listCompensations(version?: number): readonly Registration<AbstractLateEventCompensation>[] {
    return version === undefined ? this.compensationRegistrations : this.compensationRegistrations.filter((r) => this.serves(r.metadata, version));
  }

  private lookupMostSpecific<T>(table: Table<T>, state: string, event: string, bizCode: string, sceneId: string, version: number): readonly T[] {
    for (const s of [state, ANY]) {
      const byKey = table.get(s)?.get(event);
      if (!byKey) continue;
      for (const key of dimensionLevels(bizCode, sceneId)) {
        const entries = byKey.get(key)?.filter((e) => this.serves(e.metadata, version));
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
    for (const version of metadata.versions ?? []) {
      if (!Number.isInteger(version) || version < 1) {
        this.problems.push(`${name}: versions must be whole numbers from 1, not ${String(version)}`);
        valid = false;
      }
    }
    if (metadata.versions?.length === 0) {
      this.problems.push(`${name}: versions is empty (leave it out to serve the current version)`);
      valid = false;
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
