import { toRegistrationMetadata } from '../processor/registration.js';
import { checkRegistrations } from '../registry/check-registrations.js';
import { defineMachine, type StateOf } from './machine.js';

const machine = defineMachine({
  name: 'pay',
  initial: 'NEW',
  states: {
    PENDING: { automatic: { event: 'SETTLE', sceneId: 'AUTO' } },
    DONE: { final: true },
    FAILED: { final: true },
  },
  transitions: [
    { from: 'NEW', event: 'OPEN', to: 'PENDING' },
    { from: 'PENDING', event: 'SETTLE', to: ['DONE', 'FAILED'] },
    { from: ['NEW', 'PENDING'], event: 'ABORT', to: 'FAILED' },
  ],
});

describe('defineMachine', () => {
  it('answers which transitions are declared, expanding lists', () => {
    expect(machine.allows('NEW', 'OPEN', 'PENDING')).toBe(true);
    expect(machine.allows('PENDING', 'SETTLE', 'FAILED')).toBe(true);
    expect(machine.allows('PENDING', 'ABORT', 'FAILED')).toBe(true);
    expect(machine.allows('NEW', 'OPEN', 'DONE')).toBe(false);
    expect(machine.allows('DONE', 'ABORT', 'FAILED')).toBe(false);
    expect(machine.hasEvent('PENDING', 'SETTLE')).toBe(true);
    expect(machine.hasEvent('NEW', 'SETTLE')).toBe(false);
    expect(machine.stateNames).toEqual(['NEW', 'PENDING', 'DONE', 'FAILED']);
    expect(machine.isFinal('DONE')).toBe(true);
    expect(machine.isFinal('PENDING')).toBe(false);
  });

  it('answers the automatic work of a state only for the dimensions it names', () => {
    expect(machine.automaticWork('PENDING', 'ANY', 'AUTO')).toMatchObject({ event: 'SETTLE', stuckAfterMs: 60_000 });
    expect(machine.automaticWork('PENDING', 'ANY', 'MANUAL')).toBeUndefined();
    expect(machine.automaticWork('NEW', 'ANY', 'AUTO')).toBeUndefined();
  });

  it('types the states so that only declared names compile', () => {
    const ok: StateOf<typeof machine> = 'DONE';
    // @ts-expect-error 'LOST' is not a state of the machine
    const wrong: StateOf<typeof machine> = 'LOST';
    expect([ok, wrong]).toHaveLength(2);
  });

  it('refuses a machine with transitions to unknown states, out of final states, or automatic states with no way out', () => {
    const broken = () =>
      defineMachine({
        name: 'broken',
        initial: 'NEW',
        states: { A: { automatic: { event: 'GO' as 'X' } }, END: { final: true } },
        transitions: [
          { from: 'NEW', event: 'X', to: 'NOWHERE' as 'A' },
          { from: 'END', event: 'AGAIN', to: 'A' },
        ],
      });
    expect(broken).toThrow(/NOWHERE is not a declared state/);
    expect(broken).toThrow(/END is final/);
    expect(broken).toThrow(/state A is automatic with event GO, but no transition leaves A on GO/);
  });
});

describe('checkRegistrations', () => {
  const entry = (name: string, options: Parameters<typeof toRegistrationMetadata>[0]) => ({
    name,
    metadata: toRegistrationMetadata(options),
    instance: {},
  });

  it('accepts processors that handle declared events in declared states', () => {
    expect(checkRegistrations(machine, [entry('Open', { state: 'NEW', event: 'OPEN' }), entry('Abort', { event: 'ABORT' })], [])).toEqual([]);
  });

  it('names every processor or plugin that refers to something the machine does not declare', () => {
    const problems = checkRegistrations(
      machine,
      [entry('UnknownState', { state: 'LIMBO', event: 'OPEN' }), entry('UnknownEvent', { state: 'NEW', event: 'TELEPORT' })],
      [entry('WrongPlace', { state: 'DONE', event: 'OPEN' })],
    );
    expect(problems).toEqual([
      'processor UnknownState is registered for state LIMBO, which machine pay does not declare',
      'processor UnknownEvent handles event TELEPORT, which machine pay does not declare',
      'plugin WrongPlace handles OPEN in DONE, but machine pay declares no transition DONE -OPEN->',
    ]);
  });

  it('answers who may send each event, and refuses senders for an event it does not declare', () => {
    const spec = {
      name: 'pay',
      initial: 'INIT',
      states: { OPEN: {}, DONE: { final: true } },
      transitions: [
        { from: 'INIT', event: 'OPEN', to: 'OPEN' },
        { from: 'OPEN', event: 'SETTLE', to: 'DONE' },
      ],
    } as const;
    const declared = defineMachine({ ...spec, events: { OPEN: { sentBy: 'client' }, SETTLE: { sentBy: ['payment', 'system'] } } });
    expect(declared.declaresSenders).toBe(true);
    expect([...declared.sendersOf('OPEN')!]).toEqual(['client']);
    expect([...declared.sendersOf('SETTLE')!]).toEqual(['payment', 'system']);
    expect(defineMachine(spec).sendersOf('OPEN')).toBeUndefined();
    expect(() => defineMachine({ ...spec, events: { REFUND: { sentBy: 'client' } } as never })).toThrow(/event REFUND has a sentBy, but no transition declares it/);
    expect(() => defineMachine({ ...spec, events: { OPEN: { sentBy: [''] } } })).toThrow(/event OPEN: every sender must be a non-empty name/);
  });
});

describe('late policies and versions', () => {
  const spec = {
    name: 'pay',
    initial: 'NEW',
    states: { PENDING: {}, CONFIRMED: {}, DONE: { final: true }, FAILED: { final: true } },
    transitions: [
      { from: 'NEW', event: 'OPEN', to: 'PENDING' },
      { from: 'PENDING', event: 'CONFIRM', to: 'CONFIRMED' },
      { from: 'CONFIRMED', event: 'SETTLE', to: 'DONE' },
      { from: ['PENDING', 'CONFIRMED'], event: 'ABORT', to: 'FAILED' },
    ],
  } as const;

  it('resolves the policy of an event arriving where no transition takes it, per state and for the rest', () => {
    const m = defineMachine({
      ...spec,
      events: { SETTLE: { late: { PENDING: { hold: { forMs: 1_000 } }, DONE: 'compensate', '*': 'ignore' } }, OPEN: { late: 'ignore' } },
    });
    expect(m.latePolicy('SETTLE', 'PENDING')).toEqual({ kind: 'hold', forMs: 1_000 });
    expect(m.latePolicy('SETTLE', 'DONE')).toEqual({ kind: 'compensate' });
    expect(m.latePolicy('SETTLE', 'FAILED')).toEqual({ kind: 'ignore' });
    expect(m.latePolicy('OPEN', 'PENDING')).toEqual({ kind: 'ignore' });
    // Undeclared: refused, as without a policy.
    expect(m.latePolicy('ABORT', 'DONE')).toEqual({ kind: 'refuse' });
    expect(m.version).toBe(1);
    expect(m.compensatesOnExpiry('SETTLE', 'PENDING')).toBe(false);
  });

  it('compensates a held event on expiry where the hold says so', () => {
    const m = defineMachine({ ...spec, events: { SETTLE: { late: { PENDING: { hold: { forMs: 1_000, onExpiry: 'compensate' } } } }, CONFIRM: { late: { hold: { forMs: 1_000 } } } } });
    expect(m.latePolicy('SETTLE', 'PENDING')).toEqual({ kind: 'hold', forMs: 1_000, onExpiry: 'compensate' });
    expect(m.compensatesOnExpiry('SETTLE', 'PENDING')).toBe(true);
    // A hold without it, and a state with no hold at all.
    expect(m.latePolicy('CONFIRM', 'NEW')).toEqual({ kind: 'hold', forMs: 1_000 });
    expect(m.compensatesOnExpiry('CONFIRM', 'NEW')).toBe(false);
    expect(m.compensatesOnExpiry('SETTLE', 'FAILED')).toBe(false);
  });

  it("turns a '*' hold into a refusal where no state that takes the event can be reached", () => {
    const m = defineMachine({ ...spec, events: { CONFIRM: { late: { hold: { forMs: 500 } } } } });
    // From NEW, PENDING (which takes CONFIRM) is ahead; from FAILED nothing is.
    expect(m.latePolicy('CONFIRM', 'NEW')).toEqual({ kind: 'hold', forMs: 500 });
    expect(m.canStillTake('CONFIRMED', 'CONFIRM')).toBe(false);
    expect(m.latePolicy('CONFIRM', 'CONFIRMED')).toEqual({ kind: 'refuse' });
    expect(m.latePolicy('CONFIRM', 'FAILED')).toEqual({ kind: 'refuse' });
  });

  it('refuses policies that cannot work, naming each', () => {
    expect(() =>
      defineMachine({
        ...spec,
        version: 0,
        events: {
          SETTLE: { late: { CONFIRMED: 'ignore', NOPE: 'ignore', FAILED: { hold: { forMs: 1_000 } } } as never },
          CONFIRM: { late: { hold: { forMs: -1 } } },
          OPEN: { late: 'shrug' as never },
          ABORT: { late: { NEW: { hold: { forMs: 1_000, onExpiry: 'refund' } }, PENDING: { hold: { forMs: 1_000, for: 1 } } } as never },
        },
      }),
    ).toThrow(
      [
        'machine pay:',
        '  - version must be a whole number from 1, not 0',
        '  - event SETTLE late in CONFIRMED: CONFIRMED has a transition on SETTLE, so SETTLE is never late there',
        '  - event SETTLE late in NOPE: NOPE is not a declared state',
        '  - event SETTLE late in FAILED: an order in FAILED never reaches a state that takes SETTLE, so holding it can only expire',
        '  - event CONFIRM (late anywhere): a hold needs forMs, a whole number of milliseconds above 0',
        '  - event OPEN (late anywhere): shrug is not a late policy (refuse, ignore, compensate or { hold: { forMs, onExpiry? } })',
        `  - event ABORT late in NEW: a hold's onExpiry is 'compensate' or absent, not "refund"`,
        '  - event ABORT late in PENDING: a hold takes forMs and onExpiry, not for',
      ].join('\n'),
    );
  });
});
