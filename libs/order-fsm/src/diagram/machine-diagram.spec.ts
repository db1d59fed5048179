import { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { ServiceResult } from '../model/service-result.js';
import { defineMachine } from '../model/machine.js';
import { ProcessorRegistry } from '../registry/processor-registry.js';
import { describeMachine, describeMachineDiff, toDot, toMermaid, toSvg, type MachineDiagram } from './machine-diagram.js';

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
    // It scales to its container: a viewBox, and no fixed size.
    expect(svg).toMatch(/<svg viewBox="[\d. ]+"/);
    expect(svg).not.toMatch(/<svg[^>]*(width|height)=/);
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

describe('versions and the diff between two', () => {
  class PayByWallet extends P {}
  class Ship extends P {}
  // v2 of the shop: paying takes a wallet, shipping is no longer automatic, an expired cart is
  // cancelled (EXPIRED is gone), GIFT is gone, and a payment arriving after shipping is ignored.
  const v2 = defineMachine({
    name: 'shop',
    version: 2,
    initial: 'INIT',
    states: { CART: {}, PAID: {}, SHIPPED: { final: true }, CANCELLED: { final: true } },
    transitions: [
      { from: 'INIT', event: 'CREATE', to: 'CART' },
      { from: 'CART', event: 'PAY', to: 'PAID' },
      { from: 'PAID', event: 'SHIP', to: 'SHIPPED' },
      { from: 'CART', event: 'EXPIRE', to: 'CANCELLED', timer: true },
    ],
    events: { PAY: { late: { SHIPPED: 'ignore' } } },
  });
  const twoVersions = () => {
    const r = new ProcessorRegistry();
    r.setCurrentVersion(2);
    r.registerProcessor('Create', { states: ['INIT'], event: 'CREATE', versions: [1, 2] }, new Create());
    r.registerProcessor('PayByCard', { states: ['CART'], event: 'PAY', versions: [1] }, new PayByCard());
    r.registerProcessor('PayByWallet', { states: ['CART'], event: 'PAY' }, new PayByWallet());
    r.registerProcessor('AutoShip', { states: ['PAID'], event: 'SHIP', versions: [1] }, new AutoShip());
    r.registerProcessor('Ship', { states: ['PAID'], event: 'SHIP' }, new Ship());
    r.registerProcessor('Expire', { states: ['CART'], event: 'EXPIRE', versions: [1, 2] }, new Expire());
    r.seal();
    return r;
  };
  const statuses = (d: MachineDiagram) => ({
    states: d.states.map((s) => [s.name, s.status, ...(s.changes ?? [])]),
    edges: d.edges.map((e) => [`${e.from} -${e.event}-> ${e.to}`, e.status, ...(e.changes ?? [])]),
  });

  it('draws each version with the processors serving it, and says which version it is', () => {
    const r = twoVersions();
    const one = describeMachine(machine, r);
    const two = describeMachine(v2, r);
    expect([one.version, two.version]).toEqual([1, 2]);
    expect(one.edges.map((e) => `${e.event}:${e.processors.join('+')}`)).toEqual(['CREATE:Create', 'PAY:PayByCard', 'SHIP:AutoShip', 'EXPIRE:Expire', 'GIFT:']);
    expect(two.edges.map((e) => `${e.event}:${e.processors.join('+')}`)).toEqual(['CREATE:Create', 'PAY:PayByWallet', 'SHIP:Ship', 'EXPIRE:Expire']);
    // With a full scope, the registry chooses among the processors serving that version.
    expect(describeMachine(machine, r, { bizCode: 'SHOP', sceneId: 'APP' }).edges.find((e) => e.event === 'PAY')!.processors).toEqual(['PayByCard']);
    expect(describeMachine(v2, r, { bizCode: 'SHOP', sceneId: 'APP' }).edges.find((e) => e.event === 'PAY')!.processors).toEqual(['PayByWallet']);
    expect(toMermaid(one)).toContain('title: shop v1 (*@*)');
    expect(toDot(two)).toContain('label="shop v2 (*@*)"');
  });

  it('draws late policies on the states they apply to, refusals left out', () => {
    const two = describeMachine(v2, twoVersions());
    expect(two.states.filter((s) => s.late).map((s) => [s.name, s.late])).toEqual([['SHIPPED', ['PAY: ignore']]]);
    expect(toMermaid(two)).toContain('note right of SHIPPED : late PAY: ignore');
    expect(toDot(two)).toContain('"SHIPPED" [shape=box, peripheries=2, style=filled, fillcolor="#e8f5e9", color="#2e7d32", label="SHIPPED\\nlate: PAY: ignore"]');
  });

  it('gives every state and transition of either version its status in the later one, and what changed', () => {
    const r = twoVersions();
    const diff = describeMachineDiff(describeMachine(machine, r), describeMachine(v2, r));
    expect(diff).toMatchObject({ machine: 'shop', version: 2, scope: '*@*', compared: { from: 1, to: 2 } });
    expect(statuses(diff)).toEqual({
      states: [
        ['INIT', 'same'],
        ['CART', 'same'],
        ['PAID', 'changed', 'kind automatic → state'],
        ['SHIPPED', 'changed', 'late none → PAY: ignore'],
        ['CANCELLED', 'added'],
        ['EXPIRED', 'removed'],
      ],
      edges: [
        ['INIT -CREATE-> CART', 'same'],
        ['CART -PAY-> PAID', 'changed', 'processors PayByCard → PayByWallet'],
        ['PAID -SHIP-> SHIPPED', 'changed', 'trigger automatic → client', 'processors AutoShip → Ship'],
        ['CART -EXPIRE-> CANCELLED', 'added'],
        ['CART -EXPIRE-> EXPIRED', 'removed'],
        ['CART -GIFT-> PAID', 'removed'],
      ],
    });
    // A removed state or transition is drawn as it was: EXPIRED was final.
    expect(diff.states.find((s) => s.name === 'EXPIRED')).toMatchObject({ kind: 'final', status: 'removed' });
  });

  it('says when the senders of an event changed', () => {
    const edge = { from: 'CART', to: 'PAID', event: 'PAY', trigger: 'client', processors: ['Pay'] } as const;
    const drawing = (sentBy?: string[]): MachineDiagram => ({
      machine: 'shop',
      version: sentBy ? 2 : 1,
      scope: '*@*',
      states: [],
      edges: [{ ...edge, ...(sentBy && { sentBy }) }],
    });
    expect(describeMachineDiff(drawing(), drawing(['payment'])).edges[0].changes).toEqual(['sent by anyone → payment']);
    expect(describeMachineDiff(drawing(['payment']), drawing([])).edges[0].changes).toEqual(['sent by payment → nobody']);
  });

  it('a version compared with itself is the same throughout; so is a scope', () => {
    const r = twoVersions();
    for (const scope of [{}, { bizCode: 'SHOP', sceneId: 'B2B' }]) {
      const diff = describeMachineDiff(describeMachine(v2, r, scope), describeMachine(v2, r, scope));
      expect(new Set([...diff.states, ...diff.edges].map((x) => x.status))).toEqual(new Set(['same']));
      expect(diff.compared).toEqual({ from: 2, to: 2 });
    }
  });

  it('compares only two drawings of one machine and one scope', () => {
    const r = twoVersions();
    const other = defineMachine({ name: 'other', initial: 'INIT', states: { DONE: { final: true } }, transitions: [{ from: 'INIT', event: 'CREATE', to: 'DONE' }] });
    expect(() => describeMachineDiff(describeMachine(other, r), describeMachine(v2, r))).toThrow('a diff compares two versions of one machine, not other and shop');
    expect(() => describeMachineDiff(describeMachine(machine, r), describeMachine(v2, r, { bizCode: 'SHOP', sceneId: 'APP' }))).toThrow(
      'a diff compares two drawings of one scope, not *@* and SHOP@APP',
    );
  });

  describe('drawn', () => {
    const r = twoVersions();
    const diff = describeMachineDiff(describeMachine(machine, r), describeMachine(v2, r));

    it('Mermaid: titled v1 → v2, states coloured by status with a legend, each transition not the same saying so', () => {
      const text = toMermaid(diff);
      expect(text).toContain('title: shop v1 → v2 (*@*)');
      expect(text).toContain('  [*] --> CART : CREATE / Create');
      expect(text).toContain('  CART --> CANCELLED : added: timer: EXPIRE / Expire');
      expect(text).toContain('  CART --> EXPIRED : removed: timer: EXPIRE / Expire');
      expect(text).toContain('  CART --> PAID : removed: GIFT / (no processor)');
      expect(text).toContain('  PAID --> SHIPPED : changed: SHIP / Ship (trigger automatic → client, processors AutoShip → Ship)');
      expect(text).toContain('  CART --> PAID : changed: PAY / PayByWallet (processors PayByCard → PayByWallet)');
      expect(text).toContain('  PAID : PAID (changed, kind automatic → state)');
      expect(text).toContain('  CANCELLED : CANCELLED (added)');
      expect(text).not.toMatch(/^ {2}CART : /m);
      expect(text).toContain('  state "added" as legend_added');
      expect(text).toContain('  classDef removed fill:#ffebee,stroke:#c62828,color:#c62828,stroke-dasharray:5 5');
      expect(text).toContain('  class CANCELLED,legend_added added');
      expect(text).toContain('  class EXPIRED,legend_removed removed');
      expect(text).toContain('  class PAID,SHIPPED,legend_changed changed');
      expect(text).not.toContain('classDef automatic');
    });

    it('DOT: the title over a legend; added green, removed red and dashed, changed amber with what changed; timers dotted', () => {
      const text = toDot(diff);
      expect(text).toContain('<tr><td colspan="4" border="0"><b>shop v1 → v2 (*@*)</b></td></tr>');
      expect(text).toMatch(/<td bgcolor="#e8f5e9" color="#2e7d32"><font color="#2e7d32">added<\/font><\/td>/);
      expect(text).toMatch(/<td bgcolor="#ffebee" color="#c62828" style="dashed"><font color="#c62828">removed<\/font><\/td>/);
      expect(text).toContain('"SHIPPED" [shape=box, peripheries=2, style="filled", fillcolor="#fff3cd", color="#b26a00", fontcolor="#b26a00", penwidth=2, label="SHIPPED\\n(late none → PAY: ignore)"]');
      expect(text).toContain('"CANCELLED" [shape=doublecircle, style="filled", fillcolor="#e8f5e9", color="#2e7d32"');
      expect(text).toContain('"EXPIRED" [shape=doublecircle, style="filled,dashed", fillcolor="#ffebee", color="#c62828"');
      expect(text).toContain('"PAID" [style="rounded,filled", fillcolor="#fff3cd", color="#b26a00", fontcolor="#b26a00", penwidth=2, label="PAID\\n(kind automatic → state)"]');
      expect(text).toContain('  "CART";');
      expect(text).toContain('"CART" -> "EXPIRED" [label="timer: EXPIRE\\nExpire", style=dashed, color="#c62828"');
      expect(text).toContain('"CART" -> "CANCELLED" [label="timer: EXPIRE\\nExpire", style=dotted, color="#2e7d32"');
      expect(text).toContain('"CART" -> "PAID" [label="PAY\\nPayByWallet\\n(processors PayByCard → PayByWallet)", color="#b26a00"');
      expect(text).toContain('"CART" -> "PAID" [label="GIFT\\n(no processor)", style=dashed, color="#c62828"');
    });

    it('SVG: one node per state of either version, one edge per transition, the legend in the title', async () => {
      const svg = await toSvg(diff);
      expect(svg.match(/<g id="node/g)).toHaveLength(6);
      expect(svg.match(/<g id="edge/g)).toHaveLength(6);
      expect(svg).toContain('shop v1 → v2 (*@*)');
      for (const word of ['added', 'removed', 'changed', 'same']) expect(svg).toContain(`>${word}</text>`);
      expect(svg).toContain('stroke="#c62828" stroke-dasharray');
    });
  });
});
