import { CheckFailedError, OrderFsmError, OrderNotFoundError } from '../errors/order-fsm.errors.js';
import { defineMachine } from '../model/machine.js';
import type { FsmOrder } from '../model/order.js';
import type { ResolvedOrderFsmOptions } from '../order-fsm.options.js';
import { MetricLabels } from './metric-labels.js';

const machine = defineMachine({
  name: 'ticket',
  initial: 'NEW',
  states: { OPEN: {}, DONE: { final: true } },
  transitions: [
    { from: 'NEW', event: 'CREATE', to: 'OPEN' },
    { from: 'OPEN', event: 'RESOLVE', to: 'DONE' },
  ],
});
const options = { machines: new Map([[1, machine]]), dimensions: { bizCodes: ['SUPPORT'], sceneIds: [] }, refusalReasons: ['NO_AGENT'] } as unknown as ResolvedOrderFsmOptions;
const labels = new MetricLabels(options, { bizCodes: new Set(), sceneIds: new Set(['WEB']) });
const order = (state: string, bizCode: string, sceneId: string) => ({ orderId: 'o', state, bizCode, sceneId, version: 1, data: {} }) as FsmOrder;

describe('MetricLabels', () => {
  it('names what the service declares and folds anything else into one value per label', () => {
    expect(labels.transition(order('OPEN', 'SUPPORT', 'WEB'), 'DONE', 'RESOLVE', 'worker')).toEqual({
      fromState: 'OPEN', toState: 'DONE', event: 'RESOLVE', bizCode: 'SUPPORT', sceneId: 'WEB', source: 'worker',
    });
    expect(labels.transition(order('GONE', 'x'.repeat(64), 'KIOSK'), 'NOWHERE', 'DROP TABLE', 'cron')).toEqual({
      fromState: 'undeclared', toState: 'undeclared', event: 'undeclared', bizCode: 'other', sceneId: 'other', source: 'other',
    });
    expect([labels.event('@force'), labels.event('@migrate'), labels.event(undefined), labels.event(42)]).toEqual(['@force', '@migrate', 'undeclared', 'undeclared']);
    expect(labels.source(undefined)).toBe('api');
  });

  it("labels a refusal by its code, and a CHECK_FAILED by the checker's reason when it is declared", () => {
    const refusal = (error: OrderFsmError) => labels.refusal(error, 'RESOLVE', 'api');
    expect(refusal(new CheckFailedError('sync', 'NO_AGENT', 'no agent free'))).toEqual({ event: 'RESOLVE', code: 'CHECK_FAILED', reason: 'NO_AGENT', source: 'api' });
    // An order-fsm code as a reason (a step that threw one), and UNSPECIFIED (a failure with no code), are known too.
    expect(refusal(new CheckFailedError('action', 'ORDER_BUSY', 'busy')).reason).toBe('ORDER_BUSY');
    expect(refusal(new CheckFailedError('param', 'UNSPECIFIED', 'failed')).reason).toBe('UNSPECIFIED');
    expect(refusal(new CheckFailedError('param', 'user said: <script>', 'echoed')).reason).toBe('other');
    expect(refusal(new OrderNotFoundError('o'))).toEqual({ event: 'RESOLVE', code: 'ORDER_NOT_FOUND', reason: 'none', source: 'api' });
    expect(refusal(new OrderFsmError('MADE_UP' as never, 'a code of its own')).code).toBe('other');
  });
});
