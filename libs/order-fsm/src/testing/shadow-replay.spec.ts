import { Module } from '@nestjs/common';
import { AbstractStateProcessor, defineMachine, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { OrderFsmTestbed, type ReplayedOrder, shadowReplay } from '@order-fsm/core/testing';

const machine = defineMachine({
  name: 'ticket',
  initial: 'NEW',
  states: { OPEN: {}, TRIAGED: { automatic: { event: 'ROUTE' } }, ROUTED: {}, ESCALATED: {}, CLOSED: { final: true } },
  transitions: [
    { from: 'NEW', event: 'OPEN', to: 'OPEN' },
    { from: 'OPEN', event: 'TRIAGE', to: 'TRIAGED' },
    { from: 'TRIAGED', event: 'ROUTE', to: ['ROUTED', 'ESCALATED'] },
    { from: ['ROUTED', 'ESCALATED'], event: 'CLOSE', to: 'CLOSED' },
  ],
  events: { OPEN: { sentBy: 'agent' }, TRIAGE: { sentBy: 'agent' }, ROUTE: { sentBy: 'system' }, CLOSE: { sentBy: 'agent' } },
});
type Ticket = { payload: { priority?: number } };

@OrderProcessor({ state: 'NEW', event: 'OPEN' })
class Open extends AbstractStateProcessor<Ticket> {
  getNextState() {
    return 'OPEN';
  }
  action() {
    return ServiceResult.ok();
  }
}
@OrderProcessor({ state: 'OPEN', event: 'TRIAGE' })
class Triage extends AbstractStateProcessor<Ticket> {
  getNextState() {
    return 'TRIAGED';
  }
  action(_next: string, ctx: StateContext<Ticket>) {
    ctx.order.data = { ...ctx.order.data, priority: ctx.payload.priority };
    return ServiceResult.ok();
  }
}
@OrderProcessor({ state: 'TRIAGED', event: 'ROUTE' })
class Route extends AbstractStateProcessor {
  getNextState(ctx: StateContext) {
    return Number((ctx.order.data as { priority?: number }).priority) > 3 ? 'ESCALATED' : 'ROUTED';
  }
  action() {
    return ServiceResult.ok();
  }
}
/** Version N+1: everything above priority 1 is escalated. */
@OrderProcessor({ state: 'TRIAGED', event: 'ROUTE' })
class RouteStricter extends AbstractStateProcessor {
  getNextState(ctx: StateContext) {
    return Number((ctx.order.data as { priority?: number }).priority) > 1 ? 'ESCALATED' : 'ROUTED';
  }
  action() {
    return ServiceResult.ok();
  }
}
@OrderProcessor({ state: ['ROUTED', 'ESCALATED'], event: 'CLOSE' })
class Close extends AbstractStateProcessor {
  getNextState() {
    return 'CLOSED';
  }
  action() {
    return ServiceResult.ok();
  }
}

@Module({ providers: [Open, Triage, Route, Close] })
class TicketModule {}
@Module({ providers: [Open, Triage, RouteStricter, Close] })
class TicketNextModule {}

describe('shadowReplay: logged orders against a candidate machine', () => {
  let logs: ReplayedOrder[];

  beforeAll(async () => {
    // The "production" history: recorded by the real engine, the worker routing triaged tickets.
    const production = await OrderFsmTestbed.create({ machine, imports: [TicketModule], createEvent: 'OPEN' });
    logs = [];
    try {
      for (const priority of [1, 2, 5]) {
        const { orderId } = await production.create({ bizCode: 'IT', sceneId: 'DESK', payload: {} });
        await production.send(orderId, 'TRIAGE', { priority });
        await production.settle();
        await production.send(orderId, 'CLOSE');
        logs.push({ orderId, bizCode: 'IT', sceneId: 'DESK', transitions: await production.transitions(orderId) });
      }
    } finally {
      await production.close();
    }
  });

  it('the same machine decides every event as logged, the worker’s included', async () => {
    expect(logs[0].transitions.map((t) => [t.event, t.source, t.processor])).toEqual([
      ['OPEN', 'api', 'Open'],
      ['TRIAGE', 'api', 'Triage'],
      ['ROUTE', 'worker', 'Route'],
      ['CLOSE', 'api', 'Close'],
    ]);
    expect(await shadowReplay({ orders: logs, candidate: { machine, imports: [TicketModule] } })).toEqual({ orders: 3, events: 12, differences: [], incomplete: [] });
  });

  it('a candidate that routes otherwise: the order whose ROUTE goes elsewhere, and no more of it', async () => {
    const report = await shadowReplay({ orders: logs, candidate: { machine, imports: [TicketNextModule] } });
    // Every order diverges at its ROUTE: its CLOSE is not replayed.
    expect(report.events).toBe(3 + 3 + 3);
    expect(report.differences.map((d) => [d.orderId, d.kind, d.version, d.event, d.source])).toEqual([
      [logs[0].orderId, 'processor', 3, 'ROUTE', 'worker'],
      [logs[1].orderId, 'next-state', 3, 'ROUTE', 'worker'],
      [logs[2].orderId, 'processor', 3, 'ROUTE', 'worker'],
    ]);
    expect(report.differences[1]).toMatchObject({ logged: { toState: 'ROUTED', processor: 'Route' }, candidate: { toState: 'ESCALATED', processor: 'RouteStricter' } });
  });

  it('compares rows that predate processors by their next state alone; follows forced moves', async () => {
    const [first] = logs;
    const legacy = first.transitions.map((t) => ({ ...t, processor: null }));
    const forced = [...first.transitions.slice(0, 2), { ...first.transitions[2], event: '@force', processor: null, toState: 'ESCALATED', source: 'operator' }, first.transitions[3]];
    const report = await shadowReplay({
      orders: [
        { ...first, transitions: legacy },
        { ...first, transitions: forced },
      ],
      candidate: { machine, imports: [TicketNextModule] },
    });
    expect(report).toEqual({ orders: 2, events: 8, differences: [], incomplete: [] });
  });

  it('skips an order whose log has a gap, as incomplete', async () => {
    const [first] = logs;
    const report = await shadowReplay({ orders: [{ ...first, transitions: [first.transitions[0], first.transitions[2]] }], candidate: { machine, imports: [TicketModule] } });
    expect(report).toEqual({ orders: 0, events: 0, differences: [], incomplete: [{ orderId: first.orderId, reason: 'version 2 is missing' }] });
  });
});
