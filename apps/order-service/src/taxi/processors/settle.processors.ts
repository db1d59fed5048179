import { Inject } from '@nestjs/common';
import { AbstractStateProcessor, type CheckerPlan, isUniqueViolation, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { PaymentParamChecker } from '../checkers/param-checkers.js';
import { cancellationFeeCents } from '../fares.js';
import { PassengerSlots } from '../passenger-slots.js';
import { PaymentEntity } from '../taxi.entities.js';
import { OrderEvent, OrderState, RIDE_FINISHED_STATES, type TaxiOrderData } from '../taxi.model.js';
import { TAXI_SETTINGS, type TaxiSettings } from '../taxi.settings.js';

type Ctx = StateContext<unknown, Record<string, unknown>>;
const dataOf = (ctx: Ctx) => ctx.order.data as TaxiOrderData;
const now = () => new Date().toISOString();

/** Frees the passenger for a new ride once this one is over. */
async function freePassengerIfFinished(slots: PassengerSlots, ctx: Ctx): Promise<void> {
  if (RIDE_FINISHED_STATES.has(ctx.order.state)) await slots.free(dataOf(ctx).passengerId, ctx.order.orderId);
}

export interface PaymentResult {
  paymentId: string;
  amountCents: number;
}

/** PAY settles either the fare (-> PAID) or a cancellation fee (-> CANCELLED). */
@OrderProcessor({ state: [OrderState.FEE_CONFIRMED, OrderState.CANCEL_PENDING_PAYMENT], event: OrderEvent.PAY })
export class PayProcessor extends AbstractStateProcessor<PaymentResult> {
  constructor(
    private readonly payment: PaymentParamChecker,
    private readonly slots: PassengerSlots,
  ) {
    super();
  }

  override checkers(): CheckerPlan {
    return { param: [this.payment] };
  }

  getNextState(ctx: Ctx): string {
    return ctx.order.state === OrderState.CANCEL_PENDING_PAYMENT ? OrderState.CANCELLED : OrderState.PAID;
  }

  action(_next: string, ctx: Ctx): ServiceResult<PaymentResult> {
    const data = dataOf(ctx);
    Object.assign(data, { paymentId: ctx.payload.paymentId as string, paidAt: now() });
    return ServiceResult.ok({ paymentId: data.paymentId!, amountCents: this.amountOf(ctx) });
  }

  /** The payment row commits with the state change, or neither does. */
  override async save(_next: string, ctx: Ctx): Promise<ServiceResult<PaymentResult>> {
    const data = dataOf(ctx);
    const payment: PaymentEntity = {
      id: data.paymentId!,
      orderId: ctx.order.orderId,
      kind: ctx.order.state === OrderState.CANCEL_PENDING_PAYMENT ? 'CANCELLATION_FEE' : 'FARE',
      amountCents: this.amountOf(ctx),
      createdAt: new Date(),
    };
    try {
      await ctx.manager.insert(PaymentEntity, payment);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return ServiceResult.fail('PAYMENT_ALREADY_RECORDED', `payment ${payment.id} is already recorded`);
    }
    return ServiceResult.ok();
  }

  override async after(ctx: Ctx): Promise<void> {
    await freePassengerIfFinished(this.slots, ctx);
  }

  private amountOf(ctx: Ctx): number {
    const data = dataOf(ctx);
    return (ctx.order.state === OrderState.CANCEL_PENDING_PAYMENT ? data.cancellationFeeCents : data.feeCents) ?? 0;
  }
}

@OrderProcessor({ state: OrderState.PAID, event: OrderEvent.CLOSE })
export class CloseProcessor extends AbstractStateProcessor {
  constructor(private readonly slots: PassengerSlots) {
    super();
  }

  getNextState(): string {
    return OrderState.CLOSED;
  }

  action(_next: string, ctx: Ctx): ServiceResult {
    dataOf(ctx).closedAt = now();
    return ServiceResult.ok();
  }

  override async after(ctx: Ctx): Promise<void> {
    await freePassengerIfFinished(this.slots, ctx);
  }
}

/**
 * CANCEL before the trip starts. Where it goes depends on the data: once the driver has arrived the
 * passenger owes a cancellation fee (-> CANCEL_PENDING_PAYMENT), before that it is free (-> CANCELLED).
 */
@OrderProcessor({ state: [OrderState.CREATED, OrderState.ACCEPTED, OrderState.ARRIVED], event: OrderEvent.CANCEL })
export class CancelProcessor extends AbstractStateProcessor<{ cancellationFeeCents: number }> {
  constructor(
    private readonly slots: PassengerSlots,
    @Inject(TAXI_SETTINGS) private readonly settings: TaxiSettings,
  ) {
    super();
  }

  getNextState(ctx: Ctx): string {
    return this.feeOf(ctx) > 0 ? OrderState.CANCEL_PENDING_PAYMENT : OrderState.CANCELLED;
  }

  action(_next: string, ctx: Ctx): ServiceResult<{ cancellationFeeCents: number }> {
    const cancellationFeeCents = this.feeOf(ctx);
    Object.assign(dataOf(ctx), { cancelledAt: now(), cancellationFeeCents });
    if (cancellationFeeCents > 0) ctx.schedule(OrderEvent.PAYMENT_TIMEOUT, { afterMs: this.settings.paymentTimeoutMs });
    return ServiceResult.ok({ cancellationFeeCents });
  }

  override async after(ctx: Ctx): Promise<void> {
    await freePassengerIfFinished(this.slots, ctx);
  }

  private feeOf(ctx: Ctx): number {
    return cancellationFeeCents(ctx.order.bizCode, dataOf(ctx).arrivedAt !== undefined);
  }
}
