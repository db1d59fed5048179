import { defineMachine } from '../model/machine.js';
import { defineMigration } from '../model/migration.js';
import type { MachineMigration } from '../model/migration.js';
import type { RegistrationMetadata } from '../processor/registration.js';
import type { Registration } from './processor-registry.js';
import { validateVersions, type VersionedRegistrations } from './validate-versions.js';

const spec = {
  name: 'parcel',
  initial: 'INIT',
  states: { BOOKED: {}, SHIPPED: {}, DELIVERED: { final: true }, LOST: { final: true } },
  transitions: [
    { from: 'INIT', event: 'BOOK', to: 'BOOKED' },
    { from: 'BOOKED', event: 'SHIP', to: 'SHIPPED' },
    { from: 'SHIPPED', event: 'DELIVER', to: 'DELIVERED' },
    { from: 'SHIPPED', event: 'LOSE', to: 'LOST' },
  ],
  events: { BOOK: { sentBy: 'client' }, SHIP: { sentBy: 'courier' }, DELIVER: { sentBy: 'courier' }, LOSE: { sentBy: 'courier' } },
} as const;
const v1 = defineMachine(spec);
/** v2 checks the parcel at the depot between booking and shipping. */
const v2 = defineMachine({
  ...spec,
  version: 2,
  states: { ...spec.states, AT_DEPOT: {} },
  transitions: [
    { from: 'INIT', event: 'BOOK', to: 'BOOKED' },
    { from: 'BOOKED', event: 'DROP_OFF', to: 'AT_DEPOT' },
    { from: 'AT_DEPOT', event: 'SHIP', to: 'SHIPPED' },
    { from: 'SHIPPED', event: 'DELIVER', to: 'DELIVERED' },
    { from: 'SHIPPED', event: 'LOSE', to: 'LOST' },
  ],
  events: { ...spec.events, DROP_OFF: { sentBy: 'client' } },
});

const reg = (name: string, event: string, states: string[], versions?: number[]): Registration<unknown> => ({ name, instance: {}, metadata: { event, states, versions } });

/** What the registry answers, for registrations serving the current version (2) by default. */
function registrations(list: Registration<unknown>[], current = 2): VersionedRegistrations {
  const versionsOf = (metadata: RegistrationMetadata) => metadata.versions ?? [current];
  const serving = (version?: number) => (version === undefined ? list : list.filter((r) => versionsOf(r.metadata).includes(version)));
  return { listProcessors: serving, listPlugins: () => [], listCompensations: () => [], versionsOf };
}

const processors = [
  reg('Book', 'BOOK', ['INIT']),
  reg('DropOff', 'DROP_OFF', ['BOOKED']),
  reg('Ship', 'SHIP', ['BOOKED'], [1]),
  reg('ShipFromDepot', 'SHIP', ['AT_DEPOT']),
  reg('Deliver', 'DELIVER', ['SHIPPED'], [1, 2]),
  reg('Lose', 'LOSE', ['SHIPPED'], [1, 2]),
];
const machines = new Map([
  [1, v1],
  [2, v2],
]);
const migrations = (migration: MachineMigration) => new Map([[1, migration]]);

describe('validateVersions', () => {
  it('accepts two versions, each with the processors that serve it, and a migration that places every state an order can still be in', () => {
    const sound = defineMigration({ from: v1, to: v2, states: { BOOKED: 'BOOKED', SHIPPED: 'SHIPPED' } });
    // v1's BOOK has no processor, and needs none: new orders are booked under v2.
    expect(validateVersions(machines, migrations(sound), registrations(processors))).toEqual([]);
  });

  it('refuses a migration that leaves a state an order can still be in without a place in the next version (MIGRATION_STATE_UNMAPPED)', () => {
    const broken = defineMigration({ from: v1, to: v2, states: { BOOKED: 'BOOKED' } });
    expect(validateVersions(machines, migrations(broken), registrations(processors))).toEqual([
      {
        severity: 'error',
        code: 'MIGRATION_STATE_UNMAPPED',
        message: 'migration parcel v1 -> v2: state SHIPPED is not final, yet the migration does not say where its orders go in v2',
      },
    ]);
  });

  it('refuses a migration to a state the next version does not declare, and a processor of a version nobody serves', () => {
    const astray = defineMigration({ from: v1, to: v2, states: { BOOKED: 'BOOKED', SHIPPED: 'IN_TRANSIT' as never } });
    const issues = validateVersions(machines, migrations(astray), registrations([...processors, reg('Legacy', 'SHIP', ['BOOKED'], [0])]));
    expect(issues.map((issue) => [issue.severity, issue.code])).toEqual([
      ['error', 'VERSION_NOT_SERVED'],
      ['error', 'MIGRATION_TARGET_UNDECLARED'],
    ]);
  });

  it("still expects the current version's processors to create orders", () => {
    const issues = validateVersions(machines, new Map(), registrations(processors.filter((r) => r.name !== 'Book')));
    expect(issues).toEqual([expect.objectContaining({ code: 'TRANSITION_WITHOUT_PROCESSOR', version: 2, message: expect.stringMatching(/^v2: no processor handles BOOK in INIT/) })]);
  });
});
