import { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { ServiceResult } from '../model/service-result.js';
import type { Registration } from './processor-registry.js';
import { defineMachine } from '../model/machine.js';
import { validateMachine } from './validate-machine.js';

class Plain extends AbstractStateProcessor {
  getNextState() {
    return 'X';
  }
  action() {
    return ServiceResult.ok();
  }
}
class Filtered extends Plain {
  override filter() {
    return true;
  }
}

const reg = (name: string, event: string, states?: string[], more: { bizCodes?: string[]; sceneIds?: string[] } = {}, instance: unknown = new Plain()): Registration<unknown> => ({
  name,
  instance,
  metadata: { event, states, ...more },
});

const machine = defineMachine({
  name: 'shop',
  initial: 'INIT',
  states: { CART: {}, PAID: {}, SHIPPED: { final: true }, LIMBO: {}, ORPHAN: { final: true } },
  transitions: [
    { from: 'INIT', event: 'CREATE', to: 'CART' },
    { from: 'CART', event: 'PAY', to: 'PAID' },
    { from: 'PAID', event: 'SHIP', to: 'SHIPPED' },
    { from: 'PAID', event: 'HOLD', to: 'LIMBO' },
  ],
});

const complete = [reg('Create', 'CREATE', ['INIT']), reg('Pay', 'PAY', ['CART']), reg('Ship', 'SHIP', ['PAID']), reg('Hold', 'HOLD', ['PAID'])];

describe('validateMachine', () => {
  it('reports every problem at once, with its severity and the classes it concerns', () => {
    const issues = validateMachine(
      machine,
      [...complete.filter((r) => r.name !== 'Ship'), reg('PayAgain', 'PAY', ['CART']), reg('Refund', 'REFUND', ['PAID'])],
      [reg('Coupon', 'CHECKOUT', ['CART']), reg('Audit', 'PAY', ['SHIPPED'])],
    );
    expect(issues.map((i) => [i.severity, i.code])).toEqual(
      expect.arrayContaining([
        ['error', 'UNDECLARED_REGISTRATION'],
        ['error', 'DEAD_END_STATE'],
        ['error', 'OVERLAPPING_PROCESSORS'],
        ['warning', 'UNREACHABLE_STATE'],
        ['warning', 'TRANSITION_WITHOUT_PROCESSOR'],
        ['warning', 'PLUGIN_WITHOUT_PROCESSOR'],
      ]),
    );
    const text = issues.map((i) => i.message).join('\n');
    expect(text).toMatch(/processor Refund handles event REFUND, which machine shop does not declare/);
    expect(text).toMatch(/state LIMBO is not final, yet no transition leaves it/);
    expect(text).toMatch(/Pay and PayAgain share the key CART\/PAY\/\*@\*/);
    expect(text).toMatch(/state ORPHAN cannot be reached from INIT/);
    expect(text).toMatch(/no processor handles SHIP in PAID: the declared PAID -SHIP-> SHIPPED can never be taken/);
    expect(text).toMatch(/plugin Audit \(PAY in SHIPPED\) matches no processor/);
  });

  it('finds nothing wrong with a sound machine and its processors', () => {
    const sound = defineMachine({
      name: 'sound',
      initial: 'INIT',
      states: { CART: {}, PAID: {}, SHIPPED: { final: true } },
      transitions: [
        { from: 'INIT', event: 'CREATE', to: 'CART' },
        { from: 'CART', event: 'PAY', to: 'PAID' },
        { from: 'PAID', event: 'SHIP', to: 'SHIPPED' },
      ],
      events: { CREATE: { sentBy: 'client' }, PAY: { sentBy: 'payment' }, SHIP: { sentBy: ['operator', 'system'] } },
    });
    const processors = complete.filter((r) => r.name !== 'Hold');
    expect(validateMachine(sound, processors, [reg('Receipt', 'PAY', undefined, { bizCodes: ['SHOP'] })])).toEqual([]);
  });

  it('accepts processors sharing a key when every one of them has a filter(), and not when one lacks it', () => {
    const both = [...complete, reg('PayA', 'PAY', ['CART'], {}, new Filtered()), reg('PayB', 'PAY', ['CART'], {}, new Filtered())].filter((r) => r.name !== 'Pay');
    expect(validateMachine(machine, both, []).filter((i) => i.code === 'OVERLAPPING_PROCESSORS')).toEqual([]);
    const one = [...complete, reg('PayA', 'PAY', ['CART'], {}, new Filtered())];
    expect(validateMachine(machine, one, []).find((i) => i.code === 'OVERLAPPING_PROCESSORS')?.message).toMatch(/Pay has no filter\(\)/);
  });

  it('treats different bizCodes as different keys, and a processor for any state as covering every state', () => {
    const perProduct = [...complete.filter((r) => r.name !== 'Pay'), reg('PayA', 'PAY', ['CART'], { bizCodes: ['A'] }), reg('PayB', 'PAY', ['CART'], { bizCodes: ['B'] })];
    const anyState = [...complete.filter((r) => r.name !== 'Ship'), reg('ShipAnywhere', 'SHIP')];
    expect(validateMachine(machine, perProduct, []).filter((i) => i.code === 'OVERLAPPING_PROCESSORS')).toEqual([]);
    expect(validateMachine(machine, anyState, []).filter((i) => i.code === 'TRANSITION_WITHOUT_PROCESSOR')).toEqual([]);
  });

  it('says who sends each event: an event nobody may send is an error, a machine that never says is a warning', () => {
    const transitions = [
      { from: 'INIT', event: 'CREATE', to: 'CART' },
      { from: 'CART', event: 'PAY', to: 'PAID' },
    ] as const;
    const states = { CART: {}, PAID: { final: true } };
    const processors = complete.filter((r) => ['Create', 'Pay'].includes(r.name));
    const partly = defineMachine({ name: 'partly', initial: 'INIT', states, transitions, events: { CREATE: { sentBy: 'client' } } });
    const silent = defineMachine({ name: 'silent', initial: 'INIT', states, transitions });
    const nobody = defineMachine({ name: 'nobody', initial: 'INIT', states, transitions, events: { CREATE: { sentBy: 'client' }, PAY: { sentBy: [] } } });
    expect(validateMachine(partly, processors, []).map((i) => [i.severity, i.code, i.message])).toEqual([
      ['error', 'EVENT_WITHOUT_SENDER', 'nobody may send PAY: declare its sentBy (system, or the roles that send it)'],
    ]);
    expect(validateMachine(nobody, processors, []).map((i) => i.code)).toEqual(['EVENT_WITHOUT_SENDER']);
    expect(validateMachine(silent, processors, []).map((i) => [i.severity, i.code])).toEqual([['warning', 'SENDERS_UNDECLARED']]);
  });

  it('refuses a timer or automatic event whose senders leave out system', () => {
    const clocked = defineMachine({
      name: 'clocked',
      initial: 'INIT',
      states: { CART: {}, PAID: { automatic: { event: 'SHIP' } }, DONE: { final: true } },
      transitions: [
        { from: 'INIT', event: 'CREATE', to: 'CART' },
        { from: 'CART', event: 'PAY', to: 'PAID', timer: true },
        { from: 'PAID', event: 'SHIP', to: 'DONE' },
      ],
      events: { CREATE: { sentBy: 'client' }, PAY: { sentBy: 'client' }, SHIP: { sentBy: 'operator' } },
    });
    const processors = [...complete.filter((r) => ['Create', 'Pay'].includes(r.name)), reg('Ship', 'SHIP', ['PAID'])];
    expect(validateMachine(clocked, processors, []).map((i) => [i.severity, i.code, i.message])).toEqual([
      ['error', 'SYSTEM_CANNOT_SEND', "PAY's sentBy leaves out system, yet a timer sends it (CART -PAY->): it would be refused every time"],
      ['error', 'SYSTEM_CANNOT_SEND', "SHIP's sentBy leaves out system, yet it is PAID's automatic work: it would be refused every time"],
    ]);
  });
});
