import { describe, expect, it } from '@jest/globals';
import {
  AbstractProcessorPlugin,
  AbstractStateProcessor,
  type Checker,
  type CheckerPlan,
  defineMachine,
  type FsmOrder,
  type MachineTypes,
  ServiceResult,
  StateContext,
  type StateOf,
} from '@order-fsm/core';

// The processor API's types, checked by the compiler: `npm run typecheck` fails when a line that
// expects an error compiles, or when any other line does not. The tests below only run the code.

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(_proof: Equals<A, B>) => undefined;

const parcelMachine = defineMachine({
  name: 'parcel',
  initial: 'NEW',
  states: { BOOKED: {}, CANCELLED: { final: true } },
  transitions: [
    { from: 'NEW', event: 'BOOK', to: 'BOOKED' },
    { from: 'BOOKED', event: 'EXPIRE', to: 'CANCELLED', timer: true },
  ],
});
type ParcelState = StateOf<typeof parcelMachine>;

/** An interface, with no index signature: a misspelt field is an error, not an `unknown`. */
interface ParcelData {
  weightKg: number;
  priceCents?: number;
}
interface BookPayload {
  weightKg: number;
}

type Parcel = MachineTypes<typeof parcelMachine> & { data: ParcelData };
type BookTypes = Parcel & { payload: BookPayload; result: { priceCents: number } };

class BookParcel extends AbstractStateProcessor<BookTypes> {
  getNextState(): ParcelState {
    return 'BOOKED';
  }

  action(_next: ParcelState, ctx: StateContext<BookTypes>) {
    same<typeof ctx.order, FsmOrder<ParcelData>>(true);
    same<typeof ctx.payload, BookPayload>(true);
    const data = ctx.order.data;
    data.weightKg = ctx.payload.weightKg;
    data.priceCents = 500 + Math.ceil(data.weightKg) * 150;
    ctx.schedule('EXPIRE', { afterMs: 1_000 });
    return ServiceResult.ok({ priceCents: data.priceCents });
  }
}

/** What the same context refuses (never run). */
function misuses(ctx: StateContext<BookTypes>) {
  // @ts-expect-error ParcelData has no such field
  ctx.order.data.weightKgs = 1;
  // @ts-expect-error the payload's weight is a number
  const weight: string = ctx.payload.weightKg;
  // @ts-expect-error the payload has no such field
  void ctx.payload.weight;
  // @ts-expect-error the machine declares no such event
  ctx.schedule('EXPIRED', { afterMs: 1_000 });
  // @ts-expect-error ctx.nextState is one of the machine's states
  ctx.nextState = 'SHIPPED';
  return weight;
}

describe('a processor typed by one bag', () => {
  it('reads and writes ctx.order.data and ctx.payload as the bag says, without a cast', async () => {
    const order: FsmOrder<ParcelData> = { orderId: 'o-1', state: 'NEW', version: 0, bizCode: 'PARCEL', sceneId: 'APP', data: { weightKg: 0 } };
    const ctx = new StateContext<BookTypes>({ eventType: 'BOOK', orderId: 'o-1', requestId: 'r-1', payload: { weightKg: 2 } }, order);
    const processor = new BookParcel();
    const next = await processor.getNextState();
    const result = await processor.action(next, ctx);
    same<typeof result, ServiceResult<{ priceCents: number }>>(true);
    expect(result.data).toEqual({ priceCents: 800 });
    expect(order.data).toEqual({ weightKg: 2, priceCents: 800 });
    expect(ctx.scheduledEvents.map((s) => s.event)).toEqual(['EXPIRE']);
  });

  it('refuses what the bag does not allow', () => {
    class UndeclaredTarget extends AbstractStateProcessor<Parcel> {
      // @ts-expect-error the machine declares no SHIPPED
      getNextState() {
        return 'SHIPPED' as const;
      }
      action() {
        return ServiceResult.ok();
      }
    }

    class WrongResult extends AbstractStateProcessor<BookTypes> {
      getNextState(): ParcelState {
        return 'BOOKED';
      }
      // @ts-expect-error the result is { priceCents: number }
      action() {
        return ServiceResult.ok({ price: 1 });
      }
    }

    class WrongData extends AbstractStateProcessor<BookTypes> {
      getNextState(): ParcelState {
        return 'BOOKED';
      }
      // @ts-expect-error the context of another order's data
      action(_next: ParcelState, _ctx: StateContext<{ data: { passengerId: string } }>) {
        return ServiceResult.ok();
      }
    }

    // @ts-expect-error the positional generics of 0.1 (result, context, payload, state) are gone
    abstract class Positional extends AbstractStateProcessor<void, unknown, BookPayload, ParcelState> {}
    // @ts-expect-error a lone result type is no bag: it shares no key with ProcessorTypes
    abstract class LoneResult extends AbstractStateProcessor<{ priceCents: number }> {}

    expect([misuses, UndeclaredTarget, WrongResult, WrongData, Positional, LoneResult]).toHaveLength(6);
  });

  it('takes checkers that name only what they read, and refuses those of other types', () => {
    const weight: Checker<{ payload: { readonly weightKg?: unknown } | undefined }> = {
      check: (ctx) => (typeof ctx.payload?.weightKg === 'number' ? ServiceResult.ok() : ServiceResult.fail('BAD_WEIGHT', 'a number')),
    };
    const heavy: Checker<{ data: ParcelData }> = { check: (ctx) => (ctx.order.data.weightKg > 30 ? ServiceResult.fail('HEAVY', 'too heavy') : ServiceResult.ok()) };
    const untyped: Checker = { check: () => ServiceResult.ok() };
    const plan: CheckerPlan<BookTypes> = { param: [weight, untyped], sync: [heavy] };

    const otherData: Checker<{ data: { passengerId: string } }> = { check: () => ServiceResult.ok() };
    const otherPayload: Checker<{ payload: { weightKg: string } }> = { check: () => ServiceResult.ok() };
    // @ts-expect-error it reads another order's data
    const wrongData: CheckerPlan<BookTypes> = { sync: [otherData] };
    // @ts-expect-error it reads the weight as a string
    const wrongPayload: CheckerPlan<BookTypes> = { param: [otherPayload] };

    expect([plan, wrongData, wrongPayload]).toHaveLength(3);
  });

  it('types plugins the same way', () => {
    class Insurance extends AbstractProcessorPlugin<Parcel> {
      execute(ctx: StateContext<Parcel>) {
        ctx.order.data.priceCents = (ctx.order.data.priceCents ?? 0) + 100;
      }
      misuse(ctx: StateContext<Parcel>) {
        // @ts-expect-error ParcelData has no such field
        ctx.order.data.insuranceCents = 100;
      }
    }
    const ctx = new StateContext<Parcel>({ eventType: 'BOOK', orderId: 'o-1', requestId: 'r-1' }, { orderId: 'o-1', state: 'NEW', version: 0, bizCode: 'PARCEL', sceneId: 'APP', data: { weightKg: 1, priceCents: 650 } });
    new Insurance().execute(ctx);
    expect(ctx.order.data).toEqual({ weightKg: 1, priceCents: 750 });
  });

  it('leaves a processor without a bag untyped, as before, and holds typed ones as untyped', () => {
    class Untyped extends AbstractStateProcessor {
      getNextState() {
        return 'ANYWHERE';
      }
      action(_next: string, ctx: StateContext) {
        ctx.order.data.anything = ctx.payload;
        same<typeof ctx.payload, unknown>(true);
        return ServiceResult.ok();
      }
    }
    // What the registry and the engine hold: any processor, whatever its bag.
    const held: AbstractStateProcessor[] = [new Untyped(), new BookParcel()];
    expect(held).toHaveLength(2);
  });
});
