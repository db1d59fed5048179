import { Injectable, Module, Scope } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AbstractProcessorPlugin } from '../processor/abstract-processor-plugin.js';
import { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { ServiceResult } from '../model/service-result.js';
import { OrderProcessor } from '../processor/order-processor.decorator.js';
import { ProcessorPlugin } from '../processor/processor-plugin.decorator.js';
import { OrderFsmConfigurationError } from '../errors/order-fsm.errors.js';
import { defineMachine } from '../model/machine.js';
import { OrderFsmModule } from '../order-fsm.module.js';
import type { OrderStore } from '../ports/order-store.js';
import { ProcessorRegistry } from './processor-registry.js';

// Discovery never touches storage: these tests only need something shaped like a store.
const unusedStore = {
  load: async () => null,
  commit: async () => {
    throw new Error('not used');
  },
  listTransitions: async () => [],
} as Partial<OrderStore> as OrderStore;

const machine = defineMachine({
  name: 'test',
  initial: 'A',
  states: { B: { final: true } },
  transitions: ['BY_CLASS', 'BY_VALUE', 'BY_FACTORY', 'INJECTED', 'SAME', 'E'].map((event) => ({ from: 'A' as const, event, to: 'B' as const })),
});

abstract class Base extends AbstractStateProcessor {
  getNextState() {
    return 'B';
  }
  action() {
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: 'A', event: 'BY_CLASS' })
class ByClassProcessor extends Base {}

@OrderProcessor({ state: 'A', event: 'BY_VALUE' })
class ByValueProcessor extends Base {}

@OrderProcessor({ state: 'A', event: 'BY_FACTORY' })
class ByFactoryProcessor extends Base {}

@Injectable()
class Dependency {
  readonly value = 42;
}

@OrderProcessor({ state: 'A', event: 'INJECTED' })
class InjectedProcessor extends Base {
  constructor(readonly dependency: Dependency) {
    super();
  }
}

/** Inherits the decorator's metadata through the prototype chain but carries none of its own. */
class UndecoratedSubclass extends ByClassProcessor {}

@ProcessorPlugin({ state: 'A', event: 'BY_CLASS' })
class APlugin extends AbstractProcessorPlugin {
  execute() {}
}

async function compile(providers: unknown[]) {
  @Module({ providers: providers as never[] })
  class FeatureModule {}
  const moduleRef = await Test.createTestingModule({
    imports: [OrderFsmModule.forRoot({ machine, store: unusedStore, lock: false, outbox: false, timers: { enabled: false } }), FeatureModule],
  }).compile();
  return moduleRef;
}

describe('OrderFsmExplorer', () => {
  it('finds processors provided by class, by value and by factory, with their dependencies, and plugins', async () => {
    const moduleRef = await compile([
      ByClassProcessor,
      { provide: 'by-value', useValue: new ByValueProcessor() },
      { provide: 'by-factory', useFactory: () => new ByFactoryProcessor() },
      Dependency,
      InjectedProcessor,
      { provide: 'sub', useClass: UndecoratedSubclass },
      APlugin,
    ]);
    const app = await moduleRef.init();
    const registry = app.get(ProcessorRegistry);

    expect(registry.listProcessors().map((r) => r.name).sort()).toEqual([
      'ByClassProcessor',
      'ByFactoryProcessor',
      'ByValueProcessor',
      'InjectedProcessor',
    ]);
    expect(registry.resolve('A', 'BY_VALUE', 'X', 'Y')[0]).toBeInstanceOf(ByValueProcessor);
    expect(registry.resolve('A', 'BY_FACTORY', 'X', 'Y')[0]).toBeInstanceOf(ByFactoryProcessor);
    expect((registry.resolve('A', 'INJECTED', 'X', 'Y')[0] as InjectedProcessor).dependency.value).toBe(42);
    expect(registry.resolvePlugins('A', 'BY_CLASS', 'X', 'Y')).toEqual([app.get(APlugin)]);
    await app.close();
  });

  it('fails bootstrap when two processors share a key without filter(), naming both classes and the key', async () => {
    @OrderProcessor({ state: 'A', event: 'SAME', bizCode: 'B' })
    class FirstSame extends Base {}
    @OrderProcessor({ state: 'A', event: 'SAME', bizCode: 'B' })
    class SecondSame extends Base {}
    const moduleRef = await compile([FirstSame, SecondSame]);
    await expect(moduleRef.init()).rejects.toThrow(/FirstSame, SecondSame share the key A\/SAME\/B@\*/);
    await moduleRef.close();
  });

  it('fails bootstrap on the machine validation errors, all at once, and carries its warnings along', async () => {
    const flawed = defineMachine({
      name: 'flawed',
      initial: 'A',
      states: { B: {}, STUCK: {}, NEVER: { final: true } },
      transitions: [
        { from: 'A', event: 'BY_CLASS', to: 'B' },
        { from: 'B', event: 'PARK', to: 'STUCK' },
      ],
    });
    const moduleRef = await Test.createTestingModule({
      imports: [OrderFsmModule.forRoot({ machine: flawed, store: unusedStore, lock: false, outbox: false, timers: { enabled: false } })],
      providers: [ByClassProcessor],
    }).compile();
    const failure = await moduleRef.init().then(
      () => undefined,
      (error: unknown) => error as OrderFsmConfigurationError,
    );
    expect(failure).toBeInstanceOf(OrderFsmConfigurationError);
    expect(failure!.problems).toEqual([expect.stringMatching(/state STUCK is not final, yet no transition leaves it/)]);
    expect(failure!.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/state NEVER cannot be reached from A/), expect.stringMatching(/no processor handles PARK in B/)]),
    );
  });

  it('fails bootstrap when a decorated class does not extend the template', async () => {
    @OrderProcessor({ state: 'A', event: 'E' })
    class NotAProcessor {}
    @ProcessorPlugin({ state: 'A', event: 'E' })
    class NotAPlugin {}
    const moduleRef = await compile([NotAProcessor, NotAPlugin]);
    await expect(moduleRef.init()).rejects.toThrow(
      /NotAProcessor carries @OrderProcessor but does not extend AbstractStateProcessor[\s\S]*NotAPlugin carries @ProcessorPlugin but does not extend AbstractProcessorPlugin/,
    );
    await moduleRef.close();
  });

  it('fails bootstrap for a request-scoped processor instead of half-supporting it', async () => {
    @OrderProcessor({ state: 'A', event: 'E' })
    class RequestScopedProcessor extends Base {}
    const moduleRef = await compile([{ provide: RequestScopedProcessor, useClass: RequestScopedProcessor, scope: Scope.REQUEST }]);
    await expect(moduleRef.init()).rejects.toThrow(/RequestScopedProcessor is request-scoped/);
    await moduleRef.close();
  });
});

describe('OrderFsmModule options', () => {
  it.each([
    [{ machine, store: undefined, lock: false }, /"store" must implement OrderStore/],
    [{ machine, store: unusedStore, lock: undefined }, /"lock" must implement OrderLock/],
    [{ machine: { name: 'plain object' }, store: unusedStore, lock: false }, /"machine" must be declared with defineMachine\(\)/],
    [{ machine, store: unusedStore, lock: false, createEvent: '' }, /"createEvent" must be a non-empty string/],
    [{ machine, store: unusedStore, lock: false, relay: { batchSize: 2.5 } }, /"relay.batchSize" must be a positive whole number/],
    [{ machine, store: unusedStore, lock: false, timers: { batchSize: 0 } }, /"timers.batchSize" must be a positive whole number/],
  ])('rejects %p', async (options, message) => {
    const compiling = Test.createTestingModule({ imports: [OrderFsmModule.forRoot(options as never)] }).compile();
    await expect(compiling).rejects.toThrow(message);
  });

  it('applies the same defaults through forRootAsync', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [OrderFsmModule.forRootAsync({ useFactory: async () => ({ machine, store: unusedStore, lock: false as const, outbox: false, timers: { enabled: false } }) })],
    }).compile();
    const app = await moduleRef.init();
    const { ORDER_FSM_OPTIONS } = await import('../order-fsm.constants.js');
    expect(app.get(ORDER_FSM_OPTIONS)).toMatchObject({ initialState: 'A', createEvent: 'CREATE' });
    await app.close();
  });
});
