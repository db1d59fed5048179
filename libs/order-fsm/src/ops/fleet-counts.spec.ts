import { defineMachine } from '../model/machine.js';
import type { OpsStore, StateCount } from '../ports/ops-store.js';
import { FleetCountsCache } from './fleet-counts.js';

const machine = defineMachine({
  name: 'ticket',
  initial: 'NEW',
  states: { OPEN: {}, WAITING: {}, DONE: { final: true }, DROPPED: { final: true } },
  transitions: [
    { from: 'NEW', event: 'CREATE', to: 'OPEN' },
    { from: 'OPEN', event: 'WAIT', to: 'WAITING' },
    { from: ['OPEN', 'WAITING'], event: 'RESOLVE', to: 'DONE' },
    { from: 'OPEN', event: 'DROP', to: 'DROPPED' },
  ],
});

/** A store that answers counts from a table the test sets, says which states it was asked about, and can hold its answers. */
function fakeStore(rows: StateCount[]) {
  const gates: Array<() => void> = [];
  const store = {
    rows,
    asked: [] as string[][],
    held: false,
    open: () => gates.splice(0).forEach((open) => open()),
    async countOrders(states: readonly string[]) {
      store.asked.push([...states]);
      if (store.held) await new Promise<void>((resolve) => gates.push(resolve));
      return store.rows.filter((row) => states.includes(row.state));
    },
  };
  return store;
}

const row = (state: string, bizCode: string, sceneId: string, count: number): StateCount => ({ state, bizCode, sceneId, count });

describe('the fleet counts', () => {
  it('answers every declared state, in all and per bizCode@sceneId, filtered', async () => {
    const store = fakeStore([row('OPEN', 'SUPPORT', 'WEB', 3), row('OPEN', 'SALES', 'APP', 2), row('DONE', 'SUPPORT', 'WEB', 40)]);
    const cache = new FleetCountsCache(store as unknown as OpsStore, machine, { liveMs: 1_000, finalMs: 60_000 }, () => 0);
    const all = await cache.counts();
    expect(all.states).toEqual({ OPEN: 5, WAITING: 0, DONE: 40, DROPPED: 0 });
    expect(all.dimensions).toEqual([
      { bizCode: 'SALES', sceneId: 'APP', states: { OPEN: 2 } },
      { bizCode: 'SUPPORT', sceneId: 'WEB', states: { OPEN: 3, DONE: 40 } },
    ]);
    expect((await cache.counts({ bizCode: 'SALES' })).states).toEqual({ OPEN: 2, WAITING: 0, DONE: 0, DROPPED: 0 });
    // The live states and the final ones are read apart: never the virtual initial state.
    expect(store.asked).toEqual([
      ['OPEN', 'WAITING'],
      ['DONE', 'DROPPED'],
    ]);
  });

  it('reads the live states again only when older than liveMs, the final ones when older than finalMs', async () => {
    let now = 0;
    const store = fakeStore([row('OPEN', 'S', 'W', 1), row('DONE', 'S', 'W', 9)]);
    const cache = new FleetCountsCache(store as unknown as OpsStore, machine, { liveMs: 1_000, finalMs: 60_000 }, () => now);
    await cache.counts();
    now = 999;
    store.rows = [row('OPEN', 'S', 'W', 2), row('DONE', 'S', 'W', 10)];
    expect((await cache.counts()).states).toMatchObject({ OPEN: 1, DONE: 9 });
    now = 1_000;
    const later = await cache.counts();
    expect(later.states).toMatchObject({ OPEN: 2, DONE: 9 });
    expect([later.asOf.getTime(), later.finalAsOf.getTime()]).toEqual([1_000, 0]);
    now = 60_000;
    expect((await cache.counts()).states).toMatchObject({ OPEN: 2, DONE: 10 });
    expect(store.asked).toHaveLength(5);
    // An operator's act makes the next call read both again.
    cache.invalidate();
    await cache.counts();
    expect(store.asked).toHaveLength(7);
  });

  it('lets callers that ask at once share one read', async () => {
    const store = fakeStore([row('OPEN', 'S', 'W', 1)]);
    store.held = true;
    const cache = new FleetCountsCache(store as unknown as OpsStore, machine, { liveMs: 1_000, finalMs: 60_000 }, () => 0);
    const answers = Promise.all(Array.from({ length: 10 }, () => cache.counts()));
    // Ten callers, two reads (the live states, the final ones), both waiting.
    expect(store.asked).toHaveLength(2);
    store.open();
    const all = await answers;
    expect(all.every((a) => a.states.OPEN === 1)).toBe(true);
    expect(store.asked).toHaveLength(2);
  });

  it('reads again after a read that failed', async () => {
    const store = fakeStore([row('OPEN', 'S', 'W', 1)]);
    let fail = true;
    const flaky = { countOrders: async (states: readonly string[]) => (fail ? Promise.reject(new Error('down')) : store.countOrders(states)) };
    const cache = new FleetCountsCache(flaky as unknown as OpsStore, machine, { liveMs: 1_000, finalMs: 60_000 }, () => 0);
    await expect(cache.counts()).rejects.toThrow('down');
    fail = false;
    expect((await cache.counts()).states.OPEN).toBe(1);
  });
});
