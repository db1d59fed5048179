import { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { ServiceResult } from '../model/service-result.js';
import { defineMachine } from '../model/machine.js';
import { ProcessorRegistry } from '../registry/processor-registry.js';
import { describeMachine, toDot, toMermaid, toSvg } from './machine-diagram.js';

class P extends AbstractStateProcessor {
  getNextState() {
    return 'X';
  }
  action() {
    return ServiceResult.ok();
  }
}
class PayByCard extends P {}
class PayByInvoice extends P {}
class AutoShip extends P {}
class Expire extends P {}
class Create extends P {}

const machine = defineMachine({
  name: 'shop',
  initial: 'INIT',
  states: {
    CART: {},
    PAID: { automatic: { event: 'SHIP', sceneId: 'B2B' } },
    SHIPPED: { final: true },
    EXPIRED: { final: true },
  },
  transitions: [
    { from: 'INIT', event: 'CREATE', to: 'CART' },
    { from: 'CART', event: 'PAY', to: 'PAID' },
    { from: 'PAID', event: 'SHIP', to: 'SHIPPED' },
    { from: 'CART', event: 'EXPIRE', to: 'EXPIRED', timer: true },
    { from: 'CART', event: 'GIFT', to: 'PAID' },
  ],
});

function registry() {
  const r = new ProcessorRegistry();
  r.registerProcessor('Create', { states: ['INIT'], event: 'CREATE' }, new Create());
  r.registerProcessor('PayByCard', { states: ['CART'], event: 'PAY', sceneIds: ['APP'] }, new PayByCard());
  r.registerProcessor('PayByInvoice', { states: ['CART'], event: 'PAY', sceneIds: ['B2B'] }, new PayByInvoice());
  r.registerProcessor('AutoShip', { states: ['PAID'], event: 'SHIP', sceneIds: ['B2B'] }, new AutoShip());
  r.registerProcessor('Expire', { states: ['CART'], event: 'EXPIRE' }, new Expire());
  r.seal();
  return r;
}

describe('describeMachine', () => {
  it('draws the whole machine: every declared edge with its processors, kinds of states and triggers', () => {
    const d = describeMachine(machine, registry());
    expect(d.scope).toBe('*@*');
    expect(d.states.map((s) => [s.name, s.kind])).toEqual([
      ['INIT', 'initial'],
      ['CART', 'state'],
      ['PAID', 'automatic'],
      ['SHIPPED', 'final'],
      ['EXPIRED', 'final'],
    ]);
    expect(d.states.find((s) => s.name === 'PAID')).toMatchObject({ automaticEvent: 'SHIP', automaticFor: 'sceneId B2B' });
    expect(d.edges).toEqual([
      { from: 'INIT', to: 'CART', event: 'CREATE', trigger: 'client', processors: ['Create'] },
      { from: 'CART', to: 'PAID', event: 'PAY', trigger: 'client', processors: ['PayByCard', 'PayByInvoice'] },
      { from: 'PAID', to: 'SHIPPED', event: 'SHIP', trigger: 'automatic', processors: ['AutoShip'] },
      { from: 'CART', to: 'EXPIRED', event: 'EXPIRE', trigger: 'timer', processors: ['Expire'] },
      { from: 'CART', to: 'PAID', event: 'GIFT', trigger: 'client', processors: [] },
    ]);
  });

  it('draws one bizCode@sceneId: only what such an order can take, with the processor the registry would choose', () => {
    const app = describeMachine(machine, registry(), { bizCode: 'SHOP', sceneId: 'APP' });
    expect(app.scope).toBe('SHOP@APP');
    expect(app.edges.map((e) => `${e.from} -${e.event}-> ${e.to} ${e.processors.join()}`)).toEqual([
      'INIT -CREATE-> CART Create',
      'CART -PAY-> PAID PayByCard',
      'CART -EXPIRE-> EXPIRED Expire',
    ]);
    expect(app.states.map((s) => s.name)).toEqual(['INIT', 'CART', 'PAID', 'EXPIRED']);
    expect(app.states.find((s) => s.name === 'PAID')!.kind).toBe('state');
    const b2b = describeMachine(machine, registry(), { bizCode: 'SHOP', sceneId: 'B2B' });
    expect(b2b.edges.find((e) => e.event === 'SHIP')).toMatchObject({ trigger: 'automatic', processors: ['AutoShip'] });
  });
});

describe('rendering', () => {
  const d = describeMachine(machine, registry());

  it('Mermaid: start and end markers, labelled edges, automatic and final states styled', () => {
    const text = toMermaid(d);
    expect(text).toContain('stateDiagram-v2');
    expect(text).toContain('[*] --> CART : CREATE / Create');
    expect(text).toContain('PAID --> SHIPPED : auto: SHIP / AutoShip');
    expect(text).toContain('CART --> EXPIRED : timer: EXPIRE / Expire');
    expect(text).toContain('CART --> PAID : GIFT / (no processor)');
    expect(text).toContain('SHIPPED --> [*]');
    expect(text).toContain('class PAID automatic');
    expect(text).toContain('class SHIPPED,EXPIRED final');
  });

  it('DOT: timers dashed, automatic bold, an edge without processor red, final states double circles', () => {
    const text = toDot(d);
    expect(text).toMatch(/"CART" -> "EXPIRED" \[label="timer: EXPIRE\\nExpire", style=dashed\]/);
    expect(text).toMatch(/"PAID" -> "SHIPPED" \[label="auto: SHIP\\nAutoShip", style=bold/);
    expect(text).toMatch(/"CART" -> "PAID" \[label="GIFT\\n\(no processor\)", color="#c62828"/);
    expect(text).toMatch(/"SHIPPED" \[shape=doublecircle/);
    expect(text).toMatch(/"PAID" \[style="rounded,filled".*automatic SHIP for sceneId B2B/);
  });

  it('SVG: rendered in process, a node per state and an edge per transition', async () => {
    const svg = await toSvg(d);
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg.match(/<g id="node/g)).toHaveLength(5);
    expect(svg.match(/<g id="edge/g)).toHaveLength(5);
    expect(svg).toContain('stroke-dasharray');
  });

  it('names who sends each event when the machine says', () => {
    const said = defineMachine({
      name: 'said',
      initial: 'INIT',
      states: { CART: {}, PAID: { final: true } },
      transitions: [
        { from: 'INIT', event: 'CREATE', to: 'CART' },
        { from: 'CART', event: 'PAY', to: 'PAID' },
      ],
      events: { CREATE: { sentBy: 'client' }, PAY: { sentBy: ['payment', 'system'] } },
    });
    const described = describeMachine(said, registry());
    expect(described.edges.map((e) => [e.event, e.sentBy])).toEqual([
      ['CREATE', ['client']],
      ['PAY', ['payment', 'system']],
    ]);
    expect(toMermaid(described)).toContain('CART --> PAID : PAY [payment|system] / PayByCard, PayByInvoice');
    expect(toDot(described)).toContain('label="PAY [payment|system]\\nPayByCard\\nPayByInvoice"');
  });
});
