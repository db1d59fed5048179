import type { OrderFsmEngine } from '../engine/order-fsm.engine.js';
import type { WorkMessage } from '../model/messages.js';
import {
  CheckFailedError,
  DependencyUnavailableError,
  OrderBusyError,
  OrderNotFoundError,
  OrderStateNotMatchError,
  EventNotAllowedError,
  MachineVersionNotServedError,
  MachineVersionNotYetServedError,
  VersionConflictError,
} from '../errors/order-fsm.errors.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import type { OrderStore, WorkAttemptWrite } from '../ports/order-store.js';
import { OrderFsmWorker } from './order-fsm.worker.js';

const work: WorkMessage = { messageId: 'o-1:3:work', orderId: 'o-1', version: 3, state: 'PAID', event: 'CLOSE', origin: 'transition' };

function workerFailingWith(error: Error | null, attempts: WorkAttemptWrite[] = [], options: Partial<ResolvedOrderFsmOptions> = {}, warnings: string[] = [], debugs: string[] = []): OrderFsmWorker {
  const engine = {
    sendEvent: async () => (error ? Promise.reject(error) : { replayed: false, fromState: 'PAID', toState: 'CLOSED' }),
  } as unknown as OrderFsmEngine;
  const store = {
    recordWorkAttempt: async (attempt: WorkAttemptWrite) => {
      if (attempts === FAILING) throw new Error('database is down');
      attempts.push(attempt);
    },
  } as unknown as OrderStore;
  const worker = new OrderFsmWorker(options as ResolvedOrderFsmOptions, store, engine);
  (worker as unknown as { logger: { warn: (m: string) => void; debug: (m: string) => void } }).logger = {
    warn: (m) => void warnings.push(m),
    debug: (m) => void debugs.push(m),
  };
  return worker;
}
const FAILING: WorkAttemptWrite[] = [];
/** A consumer that retries after 100 ms and then 500 ms: three deliveries. */
const consumer = { maxAttempts: 3, retryDelaysMs: [100, 500] } as unknown as ResolvedOrderFsmOptions['consumer'];

describe('OrderFsmWorker verdicts', () => {
  it.each([
    ['a dependency that is down', new DependencyUnavailableError('redis'), 'wait'],
    ['an order another holder has', new OrderBusyError('o-1', 2_000), 'wait'],
    ['an order that moved while the work ran', new VersionConflictError('o-1', 3), 'wait'],
    ['work the machine does not let the worker send', new EventNotAllowedError('o-1', 'CLOSE', 'system', ['client']), 'dead'],
    ['an order that moved on', new OrderStateNotMatchError('o-1', 'PAID', 'CLOSED'), 'done'],
    ['an order that does not exist', new OrderNotFoundError('o-1'), 'dead'],
    ['an order of an earlier machine version no longer served', new MachineVersionNotServedError('o-1', 'taxi', 1, [2]), 'dead'],
    ['an order of a newer machine version than this instance serves', new MachineVersionNotYetServedError('o-1', 'taxi', 3, [2]), 'wait'],
    ['a checker that refused', new CheckFailedError('action', 'NO_FUNDS', 'no funds'), 'retry'],
    ['a bug', new Error('boom'), 'retry'],
  ])('%s: %s', async (_name, error, outcome) => {
    // An outage must never spend the attempts that tell a poison message from a slow one.
    expect((await workerFailingWith(error).handle(work, 1)).outcome).toBe(outcome);
  });
});

describe('OrderFsmWorker patience', () => {
  it('waits patiently for an order of a newer machine version, and only for that', async () => {
    expect(await workerFailingWith(new MachineVersionNotYetServedError('o-1', 'taxi', 3, [2])).handle(work, 1)).toMatchObject({ outcome: 'wait', patient: true });
    expect(await workerFailingWith(new DependencyUnavailableError('redis')).handle(work, 1)).not.toHaveProperty('patient');
  });
});

describe('OrderFsmWorker work attempts', () => {
  it('records the first wait of a piece of work, not one per redelivery', async () => {
    const attempts: WorkAttemptWrite[] = [];
    const warnings: string[] = [];
    const debugs: string[] = [];
    const waiting = workerFailingWith(new DependencyUnavailableError('redis'), attempts, { consumer }, warnings, debugs);
    for (let i = 0; i < 5; i++) await waiting.handle(work, 2);
    expect(attempts.map((a) => a.outcome)).toEqual(['wait']);
    // An outage of hours is one warning per piece of work, the redeliveries only at debug.
    expect(warnings.filter((w) => w.includes('waits'))).toHaveLength(1);
    expect(debugs.filter((d) => d.includes('waits') && d.endsWith('(again)'))).toHaveLength(4);
  });

  it.each([
    ['a failure, first delivery', new Error('billing is down'), 1, 'retry', 'INTERNAL_ERROR', 100],
    ['a failure, second delivery', new Error('billing is down'), 2, 'retry', 'INTERNAL_ERROR', 500],
    ['a failure, last delivery', new Error('billing is down'), 3, 'dead-lettered', 'INTERNAL_ERROR', null],
    ['a refusal', new OrderNotFoundError('o-1'), 1, 'dead-lettered', 'ORDER_NOT_FOUND', null],
    ['a dependency that is down', new DependencyUnavailableError('redis'), 2, 'wait', 'DEPENDENCY_UNAVAILABLE', 100],
    ['an order that moved on', new OrderStateNotMatchError('o-1', 'PAID', 'CLOSED'), 1, 'moved-on', 'ORDER_STATE_NOT_MATCH', null],
    // Waits for an instance of a newer release, coming back after the longest delay, not the shortest.
    ['an order of a newer version', new MachineVersionNotYetServedError('o-1', 'taxi', 3, [2]), 2, 'wait', 'MACHINE_VERSION_NOT_YET_SERVED', 500],
    ['an order of a retired version', new MachineVersionNotServedError('o-1', 'taxi', 1, [2]), 1, 'dead-lettered', 'MACHINE_VERSION_NOT_SERVED', null],
  ])('records %s: its outcome, code, message and retry time', async (_name, error, attempt, outcome, errorCode, delay) => {
    const attempts: WorkAttemptWrite[] = [];
    await workerFailingWith(error, attempts, { consumer }).handle(work, attempt);
    expect(attempts).toEqual([{ work, attempt, outcome, errorCode, message: error.message, retryAt: delay === null ? null : expect.any(Date), at: expect.any(Date) }]);
    if (delay !== null) expect(attempts[0]!.retryAt!.getTime() - attempts[0]!.at.getTime()).toBe(delay);
  });

  it('records nothing for work that applies', async () => {
    const attempts: WorkAttemptWrite[] = [];
    expect((await workerFailingWith(null, attempts, { consumer }).handle(work, 1)).outcome).toBe('done');
    expect(attempts).toEqual([]);
  });

  it('without the consumer\'s delays, still tells a retry from a dead letter by its attempts', async () => {
    const attempts: WorkAttemptWrite[] = [];
    const noDelays = { maxAttempts: 2 } as unknown as ResolvedOrderFsmOptions['consumer'];
    await workerFailingWith(new Error('boom'), attempts, { consumer: noDelays }).handle(work, 1);
    await workerFailingWith(new Error('boom'), attempts, { consumer: noDelays }).handle(work, 2);
    expect(attempts.map((a) => [a.outcome, a.retryAt])).toEqual([
      ['retry', null],
      ['dead-lettered', null],
    ]);
  });

  it('keeps its verdict when the attempt cannot be recorded, and says so', async () => {
    const warnings: string[] = [];
    expect((await workerFailingWith(new Error('boom'), FAILING, { consumer }, warnings).handle(work, 1)).outcome).toBe('retry');
    expect(warnings).toContainEqual(expect.stringContaining('not recorded: database is down'));
  });
});
