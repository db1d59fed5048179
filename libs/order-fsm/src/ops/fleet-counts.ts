import type { MachineDefinition } from '../model/machine.js';
import type { OpsStore, StateCount } from '../ports/ops-store.js';

/** Orders per state, in all and per bizCode@sceneId, and how old each part of the answer is. */
export interface FleetCounts {
  /** When the counts of states that are not final were taken. */
  readonly asOf: Date;
  /** When the counts of final states were taken (they are taken less often). */
  readonly finalAsOf: Date;
  /** Every declared state, 0 when no order is in it. */
  readonly states: Record<string, number>;
  /** Per bizCode@sceneId that has orders, the states it has orders in. */
  readonly dimensions: ReadonlyArray<{ readonly bizCode: string; readonly sceneId: string; readonly states: Record<string, number> }>;
}

interface Snapshot {
  readonly at: Date;
  readonly rows: readonly StateCount[];
}

/**
 * The fleet's counts without scanning the orders on each call. The counts are read from the index
 * (state, biz_code, scene_id) alone, grouped, and kept: the states that are not final (where orders
 * move, and few are) are read again when older than `liveMs`; the final ones (where orders pile up,
 * and only grow) when older than `finalMs`. Callers asking at once share one read, so any number of
 * consoles polling cost one grouped index read per period per instance, and a transition pays
 * nothing for it (no counter row that every transition would have to lock).
 */
export class FleetCountsCache {
  private live?: Snapshot;
  private final?: Snapshot;
  private liveRead?: Promise<Snapshot>;
  private finalRead?: Promise<Snapshot>;
  private readonly liveStates: readonly string[];
  private readonly finalStates: readonly string[];

  constructor(
    private readonly store: OpsStore,
    machine: MachineDefinition,
    private readonly ttl: { readonly liveMs: number; readonly finalMs: number },
    private readonly now: () => number = Date.now,
  ) {
    const states = machine.stateNames.filter((state) => state !== machine.initial);
    this.liveStates = states.filter((state) => !machine.isFinal(state));
    this.finalStates = states.filter((state) => machine.isFinal(state));
  }

  async counts(filter: { bizCode?: string; sceneId?: string } = {}): Promise<FleetCounts> {
    const [live, final] = await Promise.all([this.liveSnapshot(), this.finalSnapshot()]);
    const states: Record<string, number> = Object.fromEntries([...this.liveStates, ...this.finalStates].map((state) => [state, 0]));
    const byDimension = new Map<string, { bizCode: string; sceneId: string; states: Record<string, number> }>();
    for (const row of [...live.rows, ...final.rows]) {
      if (filter.bizCode !== undefined && row.bizCode !== filter.bizCode) continue;
      if (filter.sceneId !== undefined && row.sceneId !== filter.sceneId) continue;
      if (row.count === 0) continue;
      states[row.state] = (states[row.state] ?? 0) + row.count;
      const key = `${row.bizCode}@${row.sceneId}`;
      let entry = byDimension.get(key);
      if (!entry) byDimension.set(key, (entry = { bizCode: row.bizCode, sceneId: row.sceneId, states: {} }));
      entry.states[row.state] = (entry.states[row.state] ?? 0) + row.count;
    }
    const dimensions = [...byDimension.values()].sort((a, b) => a.bizCode.localeCompare(b.bizCode) || a.sceneId.localeCompare(b.sceneId));
    return { asOf: live.at, finalAsOf: final.at, states, dimensions };
  }

  /** Forgets what was counted: the next call reads again (after an operator moved orders, which is rare). */
  invalidate(): void {
    this.live = undefined;
    this.final = undefined;
  }

  private liveSnapshot(): Promise<Snapshot> {
    if (this.live && this.now() - this.live.at.getTime() < this.ttl.liveMs) return Promise.resolve(this.live);
    this.liveRead ??= this.read(this.liveStates).then(
      (snapshot) => ((this.live = snapshot), (this.liveRead = undefined), snapshot),
      (error: unknown) => {
        this.liveRead = undefined;
        throw error;
      },
    );
    return this.liveRead;
  }

  private finalSnapshot(): Promise<Snapshot> {
    if (this.final && this.now() - this.final.at.getTime() < this.ttl.finalMs) return Promise.resolve(this.final);
    this.finalRead ??= this.read(this.finalStates).then(
      (snapshot) => ((this.final = snapshot), (this.finalRead = undefined), snapshot),
      (error: unknown) => {
        this.finalRead = undefined;
        throw error;
      },
    );
    return this.finalRead;
  }

  private async read(states: readonly string[]): Promise<Snapshot> {
    const at = new Date(this.now());
    return { at, rows: await this.store.countOrders(states) };
  }
}
