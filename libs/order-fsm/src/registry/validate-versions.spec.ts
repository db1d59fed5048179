import { defineMachine } from '../model/machine.js';
import { defineMigration } from '../model/migration.js';
import { ServiceResult } from '../model/service-result.js';
import { AbstractLateEventCompensation } from '../processor/abstract-late-event-compensation.js';
import { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { ProcessorRegistry } from './processor-registry.js';
import { validateVersions } from './validate-versions.js';

class P extends AbstractStateProcessor {
  getNextState() {
    return 'X';
  }
  action() {
    return ServiceResult.ok();
  }
}
class Refund extends AbstractLateEventCompensation {
  compensate() {
    return { refunded: true };
  }
}

// v1: a cart is paid or cancelled. v2: a checkout step before paying, and a payment arriving after a
// cancellation is refunded.
const v1 = defineMachine({
  name: 'shop',
  initial: 'INIT',
  states: { CART: {}, PAID: { final: true }, CANCELLED: { final: true } },
  transitions: [
    { from: 'INIT', event: 'CREATE', to: 'CART' },
    { from: 'CART', event: 'PAY', to: 'PAID' },
    { from: 'CART', event: 'CANCEL', to: 'CANCELLED' },
  ],
  events: { CREATE: { sentBy: 'client' }, PAY: { sentBy: 'payment' }, CANCEL: { sentBy: 'client' } },
});
const v2Spec = {
  name: 'shop',
  version: 2,
  initial: 'INIT',
  states: { CART: {}, CHECKOUT: {}, PAID: { final: true }, CANCELLED: { final: true } },
  transitions: [
    { from: 'INIT', event: 'CREATE', to: 'CART' },
    { from: 'CART', event: 'CHECK_OUT', to: 'CHECKOUT' },
    { from: 'CHECKOUT', event: 'PAY', to: 'PAID' },
    { from: 'CART', event: 'CANCEL', to: 'CANCELLED' },
    { from: 'CHECKOUT', event: 'CANCEL', to: 'CANCELLED' },
  ],
  events: {
    CREATE: { sentBy: 'client' },
    CHECK_OUT: { sentBy: 'client' },
    PAY: { sentBy: 'payment', late: { CANCELLED: 'compensate' } },
    CANCEL: { sentBy: 'client' },
  },
} as const;
const v2 = defineMachine(v2Spec);
const machines = new Map([
  [1, v1],
  [2, v2],
]);
const migrations = (states: Record<string, string> = { CART: 'CART' }) => new Map([[1, defineMigration({ from: v1, to: v2, states })]]);

interface Options {
  /** Leave out v1's PAY processor. */
  withoutV1Pay?: boolean;
  compensations?: Array<{ states: string[]; versions?: number[] }>;
  extra?: { name: string; versions: number[] };
}

/** The shop's processors: some serve both versions, some one; v2 (the current one) is the default. */
function registry({ withoutV1Pay = false, compensations = [{ states: ['CANCELLED'] }], extra }: Options = {}) {
  const r = new ProcessorRegistry();
  r.setCurrentVersion(2);
  r.registerProcessor('Create', { states: ['INIT'], event: 'CREATE', versions: [1, 2] }, new P());
  r.registerProcessor('Cancel', { states: ['CART'], event: 'CANCEL', versions: [1, 2] }, new P());
  if (!withoutV1Pay) r.registerProcessor('PayFromCart', { states: ['CART'], event: 'PAY', versions: [1] }, new P());
  r.registerProcessor('CheckOut', { states: ['CART'], event: 'CHECK_OUT' }, new P());
  r.registerProcessor('PayAtCheckout', { states: ['CHECKOUT'], event: 'PAY', versions: [2] }, new P());
  r.registerProcessor('CancelCheckout', { states: ['CHECKOUT'], event: 'CANCEL' }, new P());
  if (extra) r.registerProcessor(extra.name, { states: ['CART'], event: 'CANCEL', bizCodes: ['GIFT'], versions: extra.versions }, new P());
  for (const [i, c] of compensations.entries()) r.registerCompensation(`Refund${i}`, { event: 'PAY', states: c.states, versions: c.versions }, new Refund());
  r.seal();
  return r;
}

describe('validateVersions', () => {
  it('finds nothing wrong with two versions, each with the processors serving it, and a migration placing every live state', () => {
    const r = registry();
    expect(r.listProcessors(1).map((p) => p.name)).toEqual(['Create', 'Cancel', 'PayFromCart']);
    expect(r.listProcessors(2).map((p) => p.name)).toEqual(['Create', 'Cancel', 'CheckOut', 'PayAtCheckout', 'CancelCheckout']);
    expect(validateVersions(machines, migrations(), r)).toEqual([]);
  });

  it('checks each version with its own processors, and says which version an issue is about', () => {
    const issues = validateVersions(machines, migrations(), registry({ withoutV1Pay: true }));
    expect(issues).toEqual([
      { severity: 'warning', code: 'TRANSITION_WITHOUT_PROCESSOR', message: expect.stringMatching(/^v1: .*CART.*PAY/), version: 1 },
    ]);
  });

  it('refuses a migration that leaves a state orders can still be in without a place in the next version', () => {
    const issues = validateVersions(machines, migrations({}), registry());
    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'MIGRATION_STATE_UNMAPPED',
        message: 'migration shop v1 -> v2: state CART is not final, yet the migration does not say where its orders go in v2',
      },
    ]);
  });

  it('refuses a processor serving a version the service does not serve, naming the versions served', () => {
    const issues = validateVersions(machines, migrations(), registry({ extra: { name: 'GiftCancel', versions: [2, 3] } }));
    expect(issues).toEqual([
      { severity: 'error', code: 'VERSION_NOT_SERVED', message: 'GiftCancel serves version 3 of the machine, which this service does not serve (versions: 1, 2)' },
    ]);
  });

  it('refuses a compensate policy no compensation serves', () => {
    const issues = validateVersions(machines, migrations(), registry({ compensations: [] }));
    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'COMPENSATION_MISSING',
        message: 'v2: PAY arriving late in CANCELLED is to be compensated, but no @LateEventCompensation handles it there',
        version: 2,
      },
    ]);
  });

  it('asks for a compensation where a hold compensates on expiry, and counts one there as called', () => {
    // v2, with a payment in the cart held for the checkout, and given back if the checkout never comes.
    const holding = defineMachine({ ...v2Spec, events: { ...v2Spec.events, PAY: { sentBy: 'payment', late: { CANCELLED: 'compensate', CART: { hold: { forMs: 60_000, onExpiry: 'compensate' } } } } } });
    const served = new Map([
      [1, v1],
      [2, holding],
    ]);
    expect(validateVersions(served, migrations(), registry())).toEqual([
      {
        severity: 'error',
        code: 'COMPENSATION_MISSING',
        message: 'v2: PAY held in CART is to be compensated when it expires, but no @LateEventCompensation handles it there',
        version: 2,
      },
    ]);
    expect(validateVersions(served, migrations(), registry({ compensations: [{ states: ['CANCELLED'] }, { states: ['CART'], versions: [2] }] }))).toEqual([]);
  });

  it('warns of a compensation no policy calls: in a state the machine does not compensate, or for a version without the policy', () => {
    const issues = validateVersions(
      machines,
      migrations(),
      registry({ compensations: [{ states: ['CANCELLED'] }, { states: ['PAID'] }, { states: ['CANCELLED'], versions: [1] }] }),
    );
    expect(issues.map(({ severity, code, version }) => ({ severity, code, version }))).toEqual([
      { severity: 'warning', code: 'COMPENSATION_UNUSED', version: 1 },
      { severity: 'warning', code: 'COMPENSATION_UNUSED', version: 2 },
    ]);
    expect(issues[0].message).toBe('v1: compensation Refund2 (PAY in CANCELLED) never runs: machine shop does not compensate PAY there');
    expect(issues[1].message).toBe('v2: compensation Refund1 (PAY in PAID) never runs: machine shop does not compensate PAY there');
  });

  it('with one version served, the messages are those of validateMachine, without a version prefix', () => {
    const r = new ProcessorRegistry();
    r.registerProcessor('Create', { states: ['INIT'], event: 'CREATE' }, new P());
    r.registerProcessor('Cancel', { states: ['CART'], event: 'CANCEL' }, new P());
    r.seal();
    const issues = validateVersions(new Map([[1, v1]]), new Map(), r);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'TRANSITION_WITHOUT_PROCESSOR', version: 1 });
    expect(issues[0].message).not.toMatch(/^v1:/);
  });
});
