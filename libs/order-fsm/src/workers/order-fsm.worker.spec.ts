import type { OrderFsmEngine } from '../engine/order-fsm.engine.js';
import type { WorkMessage } from '../model/messages.js';
import {
  CheckFailedError,
  DependencyUnavailableError,
  OrderBusyError,
  OrderNotFoundError,
  OrderStateNotMatchError,
  EventNotAllowedError,
  VersionConflictError,
} from '../errors/order-fsm.errors.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { OrderStore } from '../ports/order-store.js';
import { OrderFsmWorker } from './order-fsm.worker.js';

const work: WorkMessage = { messageId: 'o-1:3:work', orderId: 'o-1', version: 3, state: 'PAID', event: 'CLOSE', origin: 'transition' };

function workerFailingWith(error: Error): OrderFsmWorker {
  const engine = { sendEvent: async () => Promise.reject(error) } as unknown as OrderFsmEngine;
  const worker = new OrderFsmWorker({} as ResolvedOrderFsmOptions, {} as OrderStore, engine);
  (worker as unknown as { logger: { warn: () => void } }).logger = { warn: () => undefined };
  return worker;
}

describe('OrderFsmWorker verdicts', () => {
  it.each([
    ['a dependency that is down', new DependencyUnavailableError('redis'), 'wait'],
    ['an order another holder has', new OrderBusyError('o-1', 2_000), 'wait'],
    ['an order that moved while the work ran', new VersionConflictError('o-1', 3), 'wait'],
    ['work the machine does not let the worker send', new EventNotAllowedError('o-1', 'CLOSE', 'system', ['client']), 'dead'],
    ['an order that moved on', new OrderStateNotMatchError('o-1', 'PAID', 'CLOSED'), 'done'],
    ['an order that does not exist', new OrderNotFoundError('o-1'), 'dead'],
    ['a checker that refused', new CheckFailedError('action', 'NO_FUNDS', 'no funds'), 'retry'],
    ['a bug', new Error('boom'), 'retry'],
  ])('%s: %s', async (_name, error, outcome) => {
    // An outage must never spend the attempts that tell a poison message from a slow one.
    expect((await workerFailingWith(error).handle(work, 1)).outcome).toBe(outcome);
  });
});
