import { Inject } from '@nestjs/common';
import { AbstractStateProcessor, type CheckerPlan, isUniqueViolation, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { PaymentParamChecker } from '../checkers/param-checkers.js';
import { cancellationFeeCents } from '../fares.js';
import { freePassengerIfFinished } from '../passenger-rides.js';
import { PaymentEntity } from '../taxi.entities.js';
import { OrderEvent, OrderState, type TaxiOrderData } from '../taxi.model.js';
import { TAXI_SETTINGS, type TaxiSettings } from '../taxi.settings.js';

type Ctx = StateContext<unknown, Record<string, unknown>>;
const dataOf = (ctx: Ctx) => ctx.order.data as TaxiOrderData;
const now = () => new Date().toISOString();

export interface PaymentResult {
  paymentId: string;
  amountCents: number;
}

/** PAY settles either the fare (-> PAID) or a cancellation fee (-> CANCELLED). */
@OrderProcessor({ state: [OrderState.FEE_CONFIRMED, OrderState.CANCEL_PENDING_PAYMENT], event: OrderEvent.PAY })
export class PayProcessor extends AbstractStateProcessor<PaymentResult> {
  constructor(private readonly payment: PaymentParamChecker) {
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

  /** The payment row commits with the state change, and so does the passenger's release, or none does. */
  override async save(next: string, ctx: Ctx): Promise<ServiceResult<PaymentResult>> {
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
    await freePassengerIfFinished(ctx.manager, next, data.passengerId, ctx.order.orderId);
    return ServiceResult.ok();
  }

  private amountOf(ctx: Ctx): number {
    const data = dataOf(ctx);
    return (ctx.order.state === OrderState.CANCEL_PENDING_PAYMENT ? data.cancellationFeeCents : data.feeCents) ?? 0;
  }
}

/** PAID -> CLOSED: the passenger was freed when the ride was paid. */
@OrderProcessor({ state: OrderState.PAID, event: OrderEvent.CLOSE })
export class CloseProcessor extends AbstractStateProcessor {
  getNextState(): string {
    return OrderState.CLOSED;
  }

  action(_next: string, ctx: Ctx): ServiceResult {
    dataOf(ctx).closedAt = now();
    return ServiceResult.ok();
  }
}

/**
 * CANCEL before the trip starts. Where it goes depends on the data: once the driver has arrived the
 * passenger owes a cancellation fee (-> CANCEL_PENDING_PAYMENT), before that it is free (-> CANCELLED).
 */
@OrderProcessor({ state: [OrderState.CREATED, OrderState.ACCEPTED, OrderState.ARRIVED], event: OrderEvent.CANCEL })
export class CancelProcessor extends AbstractStateProcessor<{ cancellationFeeCents: number }> {
  constructor(@Inject(TAXI_SETTINGS) private readonly settings: TaxiSettings) {
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

  /** Straight to CANCELLED frees the passenger, in this transaction; a fee still owed keeps them. */
  override async save(next: string, ctx: Ctx): Promise<ServiceResult<{ cancellationFeeCents: number }>> {
    await freePassengerIfFinished(ctx.manager, next, dataOf(ctx).passengerId, ctx.order.orderId);
    return ServiceResult.ok();
  }

  private feeOf(ctx: Ctx): number {
    return cancellationFeeCents(ctx.order.bizCode, dataOf(ctx).arrivedAt !== undefined);
  }
}
