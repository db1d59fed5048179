import { defineMachine } from '../model/machine.js';
import { ServiceResult } from '../model/service-result.js';
import { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { toRegistrationMetadata, type RegistrationOptions } from '../processor/registration.js';
import { ProcessorRegistry } from '../registry/processor-registry.js';
import { describeEvents } from './event-catalog.js';

class Plain extends AbstractStateProcessor {
  getNextState() {
    return 'NEXT';
  }
  action() {
    return ServiceResult.ok();
  }
}

const PAY = { type: 'object', title: 'Pay', required: ['paymentId'], properties: { paymentId: { type: 'string' } } };
const CARD = { type: 'object', title: 'Card', required: ['card'], properties: { card: { type: 'string' } } };
const OPEN = { type: 'object', title: 'Open', properties: {} };

describe('describeEvents: the events of the served versions, with the payloads their processors declare', () => {
  const v1 = defineMachine({
    name: 'shop',
    initial: 'INIT',
    states: { CART: {}, PAID: { final: true } },
    transitions: [
      { from: 'INIT', event: 'OPEN', to: 'CART' },
      { from: 'CART', event: 'PAY', to: 'PAID' },
    ],
    events: { OPEN: { sentBy: 'client' }, PAY: { sentBy: 'payment' } },
  });
  const v2 = defineMachine({
    name: 'shop',
    version: 2,
    initial: 'INIT',
    states: { CART: {}, PAID: { final: true }, EXPIRED: { final: true } },
    transitions: [
      { from: 'INIT', event: 'OPEN', to: 'CART' },
      { from: 'CART', event: 'PAY', to: 'PAID' },
      { from: 'CART', event: 'EXPIRE', to: 'EXPIRED', timer: true },
    ],
    events: { OPEN: { sentBy: 'client' }, PAY: { sentBy: ['payment', 'client'] }, EXPIRE: { sentBy: 'system' } },
  });
  const registry = new ProcessorRegistry();
  registry.setCurrentVersion(2);
  const register = (name: string, options: RegistrationOptions) => registry.registerProcessor(name, toRegistrationMetadata(options), new Plain());
  register('Open', { state: 'INIT', event: 'OPEN', versions: [1, 2], payload: OPEN });
  register('Pay', { state: 'CART', event: 'PAY', versions: [1, 2], sceneId: 'SHOP', payload: PAY });
  register('PayAgain', { state: 'CART', event: 'PAY', versions: [1, 2], sceneId: 'KIOSK', payload: PAY });
  register('PayByCard', { state: 'CART', event: 'PAY', sceneId: 'APP', payload: CARD });
  register('Expire', { state: 'CART', event: 'EXPIRE' });
  registry.seal();

  it('lists each event once, sorted, with the versions that declare it, its senders over all of them, and whether it creates an order', () => {
    const events = describeEvents(new Map([[1, v1], [2, v2]]), registry);
    expect(events.map(({ event, versions, sentBy, creates }) => ({ event, versions, sentBy, creates }))).toEqual([
      { event: 'EXPIRE', versions: [2], sentBy: ['system'], creates: false },
      { event: 'OPEN', versions: [1, 2], sentBy: ['client'], creates: true },
      { event: 'PAY', versions: [1, 2], sentBy: ['client', 'payment'], creates: false },
    ]);
  });

  it('groups the processors of an event by the schema they declare, and names those that declare none', () => {
    const [expire, open, pay] = describeEvents(new Map([[1, v1], [2, v2]]), registry);
    expect(pay.payloads).toEqual([
      { schema: PAY, processors: ['Pay', 'PayAgain'] },
      { schema: CARD, processors: ['PayByCard'] },
    ]);
    expect(pay.undeclared).toEqual([]);
    expect(open.payloads).toEqual([{ schema: OPEN, processors: ['Open'] }]);
    expect(expire).toMatchObject({ payloads: [], undeclared: ['Expire'] });
  });

  it('describes only the versions served: v1 alone has no EXPIRE and no card payment', () => {
    const events = describeEvents(new Map([[1, v1]]), registry);
    expect(events.map((e) => e.event)).toEqual(['OPEN', 'PAY']);
    expect(events[1].payloads).toEqual([{ schema: PAY, processors: ['Pay', 'PayAgain'] }]);
  });
});
