import { defineMachine } from './machine.js';
import { defineMigration } from './migration.js';

const v1 = defineMachine({
  name: 'parcel',
  initial: 'NEW',
  states: { PACKED: {}, SHIPPED: {}, DELIVERED: { final: true }, LOST: { final: true } },
  transitions: [
    { from: 'NEW', event: 'PACK', to: 'PACKED' },
    { from: 'PACKED', event: 'SHIP', to: 'SHIPPED' },
    { from: 'SHIPPED', event: 'DELIVER', to: ['DELIVERED', 'LOST'] },
  ],
});
const v2 = defineMachine({
  name: 'parcel',
  version: 2,
  initial: 'NEW',
  states: { PACKED: {}, IN_TRANSIT: {}, DELIVERED: { final: true }, LOST: { final: true } },
  transitions: [
    { from: 'NEW', event: 'PACK', to: 'PACKED' },
    { from: 'PACKED', event: 'SHIP', to: 'IN_TRANSIT' },
    { from: 'IN_TRANSIT', event: 'DELIVER', to: ['DELIVERED', 'LOST'] },
  ],
});

describe('defineMigration', () => {
  it("maps each state an order can still be in onto the next version's, and the data when asked", () => {
    const migration = defineMigration({
      from: v1,
      to: v2,
      states: { PACKED: 'PACKED', SHIPPED: 'IN_TRANSIT' },
      data: (data) => ({ ...data, carrier: data.courier, courier: undefined }),
      lazy: true,
    });
    expect(migration.problems()).toEqual([]);
    expect(migration.name).toBe('parcel v1 -> v2');
    expect(migration.stateFor('SHIPPED')).toBe('IN_TRANSIT');
    // A final state left out keeps its orders where they are.
    expect(migration.stateFor('DELIVERED')).toBeUndefined();
    const data = { courier: 'dhl' };
    expect(migration.dataFor(data, { orderId: 'o', state: 'SHIPPED', bizCode: 'B', sceneId: 'S' })).toEqual({ carrier: 'dhl', courier: undefined });
    // The order's own data is not touched: the mapping gets a copy.
    expect(data).toEqual({ courier: 'dhl' });
    expect(migration.lazy).toBe(true);
  });

  it('names every state left without a place, every target the next version does not declare, and a step that is not one version forward', () => {
    const broken = defineMigration({ from: v1, to: v1, states: { PACKED: 'GONE' } as never });
    expect(broken.problems()).toEqual([
      { code: 'MIGRATION_NOT_FORWARD', message: 'migration parcel v1 -> v1: a migration goes from one version of a machine to the next (parcel v1 -> v2)' },
      { code: 'MIGRATION_TARGET_UNDECLARED', message: 'migration parcel v1 -> v1: PACKED maps to GONE, which v1 does not declare' },
      { code: 'MIGRATION_STATE_UNMAPPED', message: 'migration parcel v1 -> v1: state SHIPPED is not final, yet the migration does not say where its orders go in v1' },
    ]);
  });
});
