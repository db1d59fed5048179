import { toRegistrationMetadata, type RegistrationOptions } from '../processor/registration.js';
import { AbstractProcessorPlugin } from '../processor/abstract-processor-plugin.js';
import { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { ServiceResult } from '../model/service-result.js';
import { OrderFsmConfigurationError } from '../errors/order-fsm.errors.js';
import { ProcessorRegistry } from './processor-registry.js';

class Plain extends AbstractStateProcessor {
  constructor(readonly label: string) {
    super();
  }
  getNextState() {
    return 'NEXT';
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

class Plugin extends AbstractProcessorPlugin {
  constructor(readonly label: string) {
    super();
  }
  execute() {}
}

function registryWith(...entries: [string, RegistrationOptions, AbstractStateProcessor][]): ProcessorRegistry {
  const registry = new ProcessorRegistry();
  for (const [name, options, instance] of entries) registry.registerProcessor(name, toRegistrationMetadata(options), instance);
  return registry;
}

const labels = (found: readonly AbstractStateProcessor[]) => found.map((p) => (p as Plain).label);

describe('ProcessorRegistry', () => {
  describe('resolve', () => {
    const exact = new Plain('exact');
    const bizAny = new Plain('biz@*');
    const anyScene = new Plain('*@scene');
    const anyAny = new Plain('*@*');
    const registry = registryWith(
      ['Exact', { state: 'S', event: 'E', bizCode: 'B', sceneId: 'X' }, exact],
      ['BizAny', { state: 'S', event: 'E', bizCode: 'B' }, bizAny],
      ['AnyScene', { state: 'S', event: 'E', sceneId: 'X' }, anyScene],
      ['AnyAny', { state: 'S', event: 'E' }, anyAny],
    );
    registry.seal();

    it('prefers the exact bizCode@sceneId', () => {
      expect(labels(registry.resolve('S', 'E', 'B', 'X'))).toEqual(['exact']);
    });

    it('falls back to bizCode@* before *@sceneId, and to *@* last', () => {
      expect(labels(registry.resolve('S', 'E', 'B', 'OTHER'))).toEqual(['biz@*']);
      expect(labels(registry.resolve('S', 'E', 'OTHER', 'X'))).toEqual(['*@scene']);
      expect(labels(registry.resolve('S', 'E', 'OTHER', 'OTHER'))).toEqual(['*@*']);
    });

    it('finds nothing for an unknown state or event', () => {
      expect(registry.resolve('NOPE', 'E', 'B', 'X')).toEqual([]);
      expect(registry.resolve('S', 'NOPE', 'B', 'X')).toEqual([]);
    });

    it('answers the same frozen list on every call', () => {
      const first = registry.resolve('S', 'E', 'B', 'X');
      expect(registry.resolve('S', 'E', 'B', 'X')).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
    });
  });

  it('expands lists of states, bizCodes and sceneIds into every combination', () => {
    const p = new Plain('multi');
    const registry = registryWith(['Multi', { state: ['A', 'B'], event: 'E', bizCode: ['X', 'Y'], sceneId: ['1', '2'] }, p]);
    registry.seal();
    for (const s of ['A', 'B']) for (const b of ['X', 'Y']) for (const c of ['1', '2']) expect(registry.resolve(s, 'E', b, c)).toEqual([p]);
    expect(registry.resolve('C', 'E', 'X', '1')).toEqual([]);
    expect(registry.resolve('A', 'E', 'Z', '1')).toEqual([]);
  });

  it('matches any state when the state is omitted, after the states named explicitly', () => {
    const specific = new Plain('specific');
    const anyState = new Plain('any-state');
    const registry = registryWith(['Specific', { state: 'A', event: 'E' }, specific], ['AnyState', { event: 'E' }, anyState]);
    registry.seal();
    expect(labels(registry.resolve('A', 'E', 'B', 'X'))).toEqual(['specific']);
    expect(labels(registry.resolve('Z', 'E', 'B', 'X'))).toEqual(['any-state']);
  });

  it('keeps several processors on one key when all of them override filter()', () => {
    const one = new Filtered('one');
    const two = new Filtered('two');
    const registry = registryWith(['One', { state: 'S', event: 'E' }, one], ['Two', { state: 'S', event: 'E' }, two]);
    expect(() => registry.seal()).not.toThrow();
    expect(labels(registry.resolve('S', 'E', 'B', 'X'))).toEqual(['one', 'two']);
  });

  it('refuses to seal when processors share a key and one does not override filter(), naming both and the key', () => {
    const registry = registryWith(
      ['FirstProcessor', { state: 'S', event: 'E', bizCode: 'B' }, new Plain('1')],
      ['SecondProcessor', { state: ['S', 'T'], event: 'E', bizCode: 'B' }, new Filtered('2')],
    );
    expect(() => registry.seal()).toThrow(OrderFsmConfigurationError);
    expect(() => registry.seal()).toThrow(/FirstProcessor, SecondProcessor share the key S\/E\/B@\*/);
    expect(registry.isSealed).toBe(false);
  });

  it('reports every bad registration at once', () => {
    const registry = new ProcessorRegistry();
    registry.registerProcessor('NoEvent', toRegistrationMetadata({ event: '' }), new Plain('x'));
    registry.registerProcessor('Wildcard', toRegistrationMetadata({ event: 'E', state: '*' }), new Plain('x'));
    registry.registerProcessor('AtSign', toRegistrationMetadata({ event: 'E', bizCode: 'A@B' }), new Plain('x'));
    registry.registerProcessor('Empty', toRegistrationMetadata({ event: 'E', sceneId: [] }), new Plain('x'));
    registry.reportProblem('from the explorer');
    let error: OrderFsmConfigurationError | undefined;
    try {
      registry.seal();
    } catch (e) {
      error = e as OrderFsmConfigurationError;
    }
    expect(error?.problems).toHaveLength(5);
    expect(error?.message).toMatch(/NoEvent/);
    expect(error?.message).toMatch(/Wildcard: state "\*"/);
    expect(error?.message).toMatch(/AtSign: bizCode "A@B"/);
    expect(error?.message).toMatch(/Empty: sceneId is an empty list/);
  });

  it('collects the plugins of every matching level, most specific first, each once', () => {
    const registry = new ProcessorRegistry();
    const exact = new Plugin('exact');
    const general = new Plugin('general');
    const other = new Plugin('other-scene');
    registry.registerPlugin('Exact', toRegistrationMetadata({ state: 'S', event: 'E', bizCode: 'B', sceneId: 'X' }), exact);
    registry.registerPlugin('General', toRegistrationMetadata({ event: 'E', bizCode: ['B', 'C'] }), general);
    registry.registerPlugin('Other', toRegistrationMetadata({ state: 'S', event: 'E', sceneId: 'Y' }), other);
    registry.registerProcessor('P', toRegistrationMetadata({ state: 'S', event: 'E' }), new Plain('p'));
    registry.seal();
    expect(registry.resolvePlugins('S', 'E', 'B', 'X')).toEqual([exact, general]);
    expect(registry.resolvePlugins('S', 'E', 'B', 'Y')).toEqual([other, general]);
    expect(registry.resolvePlugins('S', 'OTHER', 'B', 'X')).toEqual([]);
  });

  it('rejects registration after sealing', () => {
    const registry = new ProcessorRegistry();
    registry.seal();
    expect(() => registry.registerProcessor('Late', toRegistrationMetadata({ event: 'E' }), new Plain('x'))).toThrow(/sealed/);
  });
});
