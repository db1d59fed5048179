import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { SqliteOrderStore } from '../adapters/sqlite/sqlite-order-store.js';
import { defineMachine } from '../model/machine.js';
import { ServiceResult } from '../model/service-result.js';
import { OrderFsmModule } from '../order-fsm.module.js';
import type { LockOutcome, OrderFsmMetrics, RefusalLabels, TransitionLabels } from '../ports/metrics.js';
import { AbstractStateProcessor } from '../processor/abstract-state-processor.js';
import { OrderProcessor } from '../processor/order-processor.decorator.js';
import { OrderFsmEngine } from './order-fsm.engine.js';

const machine = defineMachine({
  name: 'ticket',
  initial: 'NEW',
  states: { OPEN: {}, DONE: { final: true } },
  transitions: [
    { from: 'NEW', event: 'CREATE', to: 'OPEN' },
    { from: 'OPEN', event: 'RESOLVE', to: 'DONE' },
  ],
});

/** Any dimensions: the registrations name none but the scene of the one below. */
@OrderProcessor({ state: 'NEW', event: 'CREATE' })
class Open extends AbstractStateProcessor {
  getNextState() {
    return 'OPEN';
  }
  action() {
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: 'OPEN', event: 'RESOLVE', sceneId: 'WEB' })
class Resolve extends AbstractStateProcessor {
  getNextState() {
    return 'DONE';
  }
  action() {
    return ServiceResult.ok();
  }
}

@Module({ providers: [Open, Resolve] })
class TicketModule {}

describe('the transition counter', () => {
  const seen: TransitionLabels[] = [];
  const refused: RefusalLabels[] = [];
  const locks: LockOutcome[] = [];
  const metrics: OrderFsmMetrics = {
    event: () => undefined,
    published: () => undefined,
    work: () => undefined,
    transition: (labels) => void seen.push(labels),
    refusal: (labels) => void refused.push(labels),
    lock: (outcome) => void locks.push(outcome),
  };
  let engine: OrderFsmEngine;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const dataSource = await new DataSource({ type: 'sqljs', logging: false }).initialize();
    const store = new SqliteOrderStore(dataSource);
    await store.ensureSchema();
    const moduleRef = await Test.createTestingModule({
      imports: [
        OrderFsmModule.forRoot({ machine, store, lock: false, outbox: false, metrics, dimensions: { bizCodes: ['SUPPORT'] }, timers: { enabled: false } }),
        TicketModule,
      ],
    }).compile();
    moduleRef.useLogger(false);
    const app = await moduleRef.init();
    engine = app.get(OrderFsmEngine);
    close = async () => {
      await app.close();
      await dataSource.destroy();
    };
  });
  afterAll(() => close());

  it('labels each committed transition by the machine, known dimensions and source; anything else is one label', async () => {
    const known = await engine.createOrder({ requestId: 'r-1', bizCode: 'SUPPORT', sceneId: 'WEB' });
    await engine.sendEvent({ eventType: 'RESOLVE', orderId: known.orderId, requestId: 'r-2' });
    // A bizCode nobody declared and a scene no processor names: `other`, however many there are.
    const stranger = await engine.createOrder({ requestId: 'r-3', bizCode: `bulk-${Date.now()}`, sceneId: 'KIOSK-7' });
    await engine.force({ orderId: stranger.orderId, toState: 'DONE', reason: 'closed by hand', operator: { name: 'olga', role: 'operator' } });
    // A replay commits nothing and counts nothing; a refusal neither.
    await engine.sendEvent({ eventType: 'RESOLVE', orderId: known.orderId, requestId: 'r-2' });
    await expect(engine.sendEvent({ eventType: 'RESOLVE', orderId: stranger.orderId, requestId: 'r-4' })).rejects.toMatchObject({ code: 'NOT_FOUND_PROCESSOR' });
    expect(refused).toEqual([{ event: 'RESOLVE', code: 'NOT_FOUND_PROCESSOR', reason: 'none', source: 'api' }]);
    // No lock configured: every wait ends at once, on nothing.
    expect(locks).toEqual(Array(6).fill('none'));
    expect(seen).toEqual([
      { fromState: 'NEW', toState: 'OPEN', event: 'CREATE', bizCode: 'SUPPORT', sceneId: 'WEB', source: 'api' },
      { fromState: 'OPEN', toState: 'DONE', event: 'RESOLVE', bizCode: 'SUPPORT', sceneId: 'WEB', source: 'api' },
      { fromState: 'NEW', toState: 'OPEN', event: 'CREATE', bizCode: 'other', sceneId: 'other', source: 'api' },
      { fromState: 'OPEN', toState: 'DONE', event: '@force', bizCode: 'other', sceneId: 'other', source: 'operator' },
    ]);
  });
});
