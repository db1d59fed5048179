import { Injectable, Module } from '@nestjs/common';
import { AbstractStateProcessor, defineMachine, type MachineTypes, OrderProcessor, ServiceResult, type StateContext, type StateOf } from '@order-fsm/core';
import { OrderFsmTestbed } from '@order-fsm/core/testing';

// A user's machine and processors, as they would write them: no infrastructure anywhere.
const parcelMachine = defineMachine({
  name: 'parcel',
  initial: 'NEW',
  states: {
    BOOKED: {},
    LABELLED: { automatic: { event: 'PRINT_LABEL' } },
    SHIPPED: {},
    EXPIRED: { final: true },
    DELIVERED: { final: true },
  },
  transitions: [
    { from: 'NEW', event: 'CREATE', to: 'BOOKED' },
    { from: 'BOOKED', event: 'PAY', to: 'LABELLED' },
    { from: 'LABELLED', event: 'PRINT_LABEL', to: 'SHIPPED' },
    { from: 'SHIPPED', event: 'DELIVER', to: 'DELIVERED' },
    { from: 'BOOKED', event: 'EXPIRE', to: 'EXPIRED', timer: true },
  ],
  events: {
    CREATE: { sentBy: 'shop' },
    PAY: { sentBy: ['payment', 'system'] },
    PRINT_LABEL: { sentBy: 'system' },
    DELIVER: { sentBy: 'courier' },
    EXPIRE: { sentBy: 'system' },
  },
});

type ParcelState = StateOf<typeof parcelMachine>;
type Parcel = MachineTypes<typeof parcelMachine> & { data: { weightKg?: number; label?: string } };
type BookTypes = Parcel & { payload: { weightKg: number }; result: { weightKg: number } };
type PayTypes = Parcel & { payload: { amount?: unknown } };

/** A business dependency the test replaces. */
@Injectable()
class LabelPrinter {
  readonly printed: string[] = [];
  async print(orderId: string): Promise<string> {
    this.printed.push(orderId);
    return `LBL-${this.printed.length}`;
  }
}

@OrderProcessor({ state: 'NEW', event: 'CREATE' })
class BookParcel extends AbstractStateProcessor<BookTypes> {
  getNextState(): ParcelState {
    return 'BOOKED';
  }
  action(_next: ParcelState, ctx: StateContext<BookTypes>) {
    const { weightKg } = ctx.payload;
    ctx.order.data.weightKg = weightKg;
    ctx.schedule('EXPIRE', { afterMs: 60_000 });
    return ServiceResult.ok({ weightKg });
  }
}

@OrderProcessor({ state: 'BOOKED', event: 'PAY' })
class PayParcel extends AbstractStateProcessor<PayTypes> {
  getNextState(): ParcelState {
    return 'LABELLED';
  }
  action(_next: ParcelState, ctx: StateContext<PayTypes>) {
    if (typeof ctx.payload.amount !== 'number') return ServiceResult.fail('AMOUNT_MISSING', 'say how much was paid');
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: 'LABELLED', event: 'PRINT_LABEL' })
class PrintLabel extends AbstractStateProcessor<Parcel> {
  constructor(private readonly printer: LabelPrinter) {
    super();
  }
  getNextState(): ParcelState {
    return 'SHIPPED';
  }
  async action(_next: ParcelState, ctx: StateContext<Parcel>) {
    ctx.order.data.label = await this.printer.print(ctx.order.orderId);
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: 'SHIPPED', event: 'DELIVER' })
class DeliverParcel extends AbstractStateProcessor {
  getNextState() {
    return 'DELIVERED';
  }
  action() {
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: 'BOOKED', event: 'EXPIRE' })
class ExpireParcel extends AbstractStateProcessor {
  getNextState() {
    return 'EXPIRED';
  }
  action() {
    return ServiceResult.ok();
  }
}

@Module({ providers: [LabelPrinter, BookParcel, PayParcel, PrintLabel, DeliverParcel, ExpireParcel], exports: [LabelPrinter] })
class ParcelModule {}

describe('OrderFsmTestbed: a user tests their processors without infrastructure', () => {
  let fsm: OrderFsmTestbed;
  beforeEach(async () => {
    fsm = await OrderFsmTestbed.create({ machine: parcelMachine, imports: [ParcelModule] });
  });
  afterEach(async () => {
    await fsm.close();
  });

  it('creates an order, sends events, and follows the automatic state to the end', async () => {
    const created = await fsm.create<{ weightKg: number }>({ bizCode: 'PARCEL', sceneId: 'APP', payload: { weightKg: 2 } });
    expect(created).toMatchObject({ toState: 'BOOKED', version: 1, result: { weightKg: 2 } });
    await fsm.send(created.orderId, 'PAY', { amount: 10 });
    await fsm.settle();
    expect(await fsm.stateOf(created.orderId)).toBe('SHIPPED');
    expect(await fsm.path(created.orderId)).toEqual(['BOOKED', 'LABELLED', 'SHIPPED']);
    expect((await fsm.transitions(created.orderId)).map((t) => t.source)).toEqual(['api', 'api', 'worker']);
    expect((await fsm.order(created.orderId)).data).toMatchObject({ weightKg: 2, label: 'LBL-1' });
    expect(fsm.get(LabelPrinter).printed).toEqual([created.orderId]);
    expect(fsm.statusMessages(created.orderId).map((m) => m.toState)).toEqual(['BOOKED', 'LABELLED', 'SHIPPED']);
  });

  it('reports refusals with the engine error codes, and changes nothing', async () => {
    const { orderId } = await fsm.create({ bizCode: 'PARCEL', sceneId: 'APP', payload: { weightKg: 1 } });
    await expect(fsm.send(orderId, 'PAY', {})).rejects.toMatchObject({ code: 'CHECK_FAILED', details: { reason: 'AMOUNT_MISSING' } });
    await expect(fsm.send(orderId, 'DELIVER')).rejects.toMatchObject({ code: 'NOT_FOUND_PROCESSOR' });
    await expect(fsm.send(orderId, 'PAY', { amount: 1 }, { expectedState: 'SHIPPED' })).rejects.toMatchObject({ code: 'ORDER_STATE_NOT_MATCH' });
    expect(await fsm.path(orderId)).toEqual(['BOOKED']);
  });

  it('sends as a role the machine names for the event, unless the test says who sends it', async () => {
    const { orderId } = await fsm.create({ bizCode: 'PARCEL', sceneId: 'APP', payload: { weightKg: 1 } });
    await expect(fsm.send(orderId, 'PAY', { amount: 1 }, { caller: { name: 'mallory', role: 'shop' } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      details: { sender: 'shop', allowed: ['payment', 'system'] },
    });
    await fsm.send(orderId, 'PAY', { amount: 1 });
    await fsm.settle();
    const log = await fsm.transitions(orderId);
    expect(log.map((t) => [t.event, t.caller])).toEqual([
      ['CREATE', 'testbed'],
      ['PAY', 'testbed'],
      ['PRINT_LABEL', '@system'],
    ]);
  });

  it('replays a request id and fires timers when the test says the time has come', async () => {
    const { orderId } = await fsm.create({ bizCode: 'PARCEL', sceneId: 'APP', payload: { weightKg: 1 } });
    expect(await fsm.fireTimers()).toBe(0);
    expect(await fsm.fireTimers(new Date(Date.now() + 61_000))).toBe(1);
    expect(await fsm.stateOf(orderId)).toBe('EXPIRED');
    const again = await fsm.create({ bizCode: 'PARCEL', sceneId: 'APP', payload: { weightKg: 3 }, requestId: 'same' });
    expect(await fsm.create({ bizCode: 'PARCEL', sceneId: 'APP', payload: { weightKg: 3 }, requestId: 'same' })).toMatchObject({ orderId: again.orderId, replayed: true });
  });

  it('takes stand-ins for business dependencies', async () => {
    await fsm.close();
    const printer = { printed: [] as string[], print: async (orderId: string) => (printer.printed.push(orderId), 'FAKE-1') };
    fsm = await OrderFsmTestbed.create({ machine: parcelMachine, imports: [ParcelModule], overrides: [{ provide: LabelPrinter, useValue: printer }] });
    const { orderId } = await fsm.create({ bizCode: 'PARCEL', sceneId: 'APP', payload: { weightKg: 1 } });
    await fsm.send(orderId, 'PAY', { amount: 1 });
    await fsm.settle();
    expect(printer.printed).toEqual([orderId]);
    expect((await fsm.order(orderId)).data.label).toBe('FAKE-1');
  });
});
