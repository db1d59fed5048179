import type { OrderData } from './order.js';
import type { MachineDefinition, StateOf } from './machine.js';

/** A migration from one version of a machine to the next, as declared beside the machine. */
export interface MigrationSpec<From extends MachineDefinition, To extends MachineDefinition> {
  readonly from: From;
  readonly to: To;
  /**
   * Where an order in each state of `from` goes in `to`. Every state an order can still be in (not
   * final) needs one; a final state left out keeps its orders on `from` for good (they are done).
   */
  readonly states: { readonly [K in Exclude<StateOf<From>, From['initial']>]?: StateOf<To> };
  /** The order's data as `to` expects it, when its shape changed. Runs once per order, in the migration's transaction. */
  readonly data?: (data: OrderData, order: { readonly orderId: string; readonly state: string; readonly bizCode: string; readonly sceneId: string }) => OrderData;
  /**
   * Migrate an order on its next event (before the event applies, under the same lock). Default
   * false: orders keep `from`'s rules until an operator migrates them (POST /ops/bulk/migrate).
   * An order whose version the service no longer serves is migrated on its next event either way.
   */
  readonly lazy?: boolean;
  readonly description?: string;
}

/** A declared migration: `from`'s states mapped onto `to`'s, and the data mapping if any. */
export class MachineMigration {
  readonly from: MachineDefinition;
  readonly to: MachineDefinition;
  readonly lazy: boolean;
  readonly description?: string;
  private readonly mapping: ReadonlyMap<string, string>;
  private readonly mapData?: MigrationSpec<MachineDefinition, MachineDefinition>['data'];

  /** @internal use defineMigration() */
  constructor(spec: MigrationSpec<MachineDefinition, MachineDefinition>) {
    this.from = spec.from;
    this.to = spec.to;
    this.lazy = spec.lazy === true;
    this.description = spec.description;
    this.mapping = new Map(Object.entries(spec.states ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    this.mapData = spec.data;
  }

  get name(): string {
    return `${this.from.name} v${this.from.version} -> v${this.to.version}`;
  }

  /** Where an order in `state` goes, or undefined when the migration leaves it (a final state it does not map). */
  stateFor(state: string): string | undefined {
    return this.mapping.get(state);
  }

  /** The mapping as declared. */
  get states(): ReadonlyMap<string, string> {
    return this.mapping;
  }

  dataFor(data: OrderData, order: { orderId: string; state: string; bizCode: string; sceneId: string }): OrderData {
    return this.mapData ? this.mapData(structuredClone(data), order) : data;
  }

  /** Everything wrong with the migration, one line each: what fsm:validate reports and bootstrap refuses. */
  problems(): Array<{ code: 'MIGRATION_STATE_UNMAPPED' | 'MIGRATION_TARGET_UNDECLARED' | 'MIGRATION_NOT_FORWARD'; message: string }> {
    const found: Array<{ code: 'MIGRATION_STATE_UNMAPPED' | 'MIGRATION_TARGET_UNDECLARED' | 'MIGRATION_NOT_FORWARD'; message: string }> = [];
    const { from, to } = this;
    if (from.name !== to.name || to.version !== from.version + 1) {
      found.push({ code: 'MIGRATION_NOT_FORWARD', message: `migration ${this.name}: a migration goes from one version of a machine to the next (${from.name} v${from.version} -> v${from.version + 1})` });
    }
    for (const state of from.stateNames) {
      if (state === from.initial) continue;
      const target = this.mapping.get(state);
      if (target === undefined) {
        if (!from.isFinal(state)) found.push({ code: 'MIGRATION_STATE_UNMAPPED', message: `migration ${this.name}: state ${state} is not final, yet the migration does not say where its orders go in v${to.version}` });
      } else if (!to.hasState(target) || target === to.initial) {
        found.push({ code: 'MIGRATION_TARGET_UNDECLARED', message: `migration ${this.name}: ${state} maps to ${target}, which v${to.version} does not declare` });
      }
    }
    for (const state of this.mapping.keys()) {
      if (!from.hasState(state) || state === from.initial) found.push({ code: 'MIGRATION_TARGET_UNDECLARED', message: `migration ${this.name}: it maps ${state}, which v${from.version} does not declare` });
    }
    return found;
  }
}

/**
 * Declares how orders of one machine version move to the next: a state of `to` for every state of
 * `from` an order can still be in, and the data mapping where its shape changed. Checked by
 * fsm:validate and at bootstrap, which refuse a non-final state left unmapped.
 */
export function defineMigration<From extends MachineDefinition, To extends MachineDefinition>(spec: MigrationSpec<From, To>): MachineMigration {
  return new MachineMigration(spec as unknown as MigrationSpec<MachineDefinition, MachineDefinition>);
}
