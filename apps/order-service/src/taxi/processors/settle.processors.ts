import { Inject } from '@nestjs/common';
import {
  AbstractLateEventCompensation,
  AbstractStateProcessor,
  CheckFailedError,
  type CheckerPlan,
  isUniqueViolation,
  LateEventCompensation,
  OrderProcessor,
  ServiceResult,
  type StateContext,
} from '@order-fsm/core';
import { FeeReviewParamChecker, PaymentParamChecker } from '../checkers/param-checkers.js';
import { cancellationFeeCents } from '../fares.js';
import { freePassengerIfFinished } from '../passenger-rides.js';
import { PaymentEntity } from '../taxi.entities.js';
import { FeeReviewPayload, NoPayload, OrderEvent, OrderState, PayPayload } from '../taxi.model.js';
import type { TaxiState, TaxiTypes } from '../taxi.machine.js';
import { TAXI_SETTINGS, type TaxiSettings } from '../taxi.settings.js';

const now = () => new Date().toISOString();

export interface PaymentResult {
  paymentId: string;
  amountCents: number;
}

type PayTypes = TaxiTypes & { payload: PayPayload; result: PaymentResult };
type PayCtx = StateContext<PayTypes>;

/** PAY settles either the fare (-> PAID) or a cancellation fee (-> CANCELLED). */
@OrderProcessor({ state: [OrderState.FEE_CONFIRMED, OrderState.CANCEL_PENDING_PAYMENT], event: OrderEvent.PAY, versions: [1, 2], payload: PayPayload })
export class PayProcessor extends AbstractStateProcessor<PayTypes> {
  constructor(private readonly payment: PaymentParamChecker) {
    super();
  }

  override checkers(): CheckerPlan<PayTypes> {
    return { param: [this.payment] };
  }

  getNextState(ctx: PayCtx): TaxiState {
    return ctx.order.state === OrderState.CANCEL_PENDING_PAYMENT ? OrderState.CANCELLED : OrderState.PAID;
  }

  action(_next: TaxiState, ctx: PayCtx): ServiceResult<PaymentResult> {
    const { paymentId } = ctx.payload;
    ctx.order.data.paymentId = paymentId;
    ctx.order.data.paidAt = now();
    return ServiceResult.ok({ paymentId, amountCents: this.amountOf(ctx) });
  }

  /** The payment row commits with the state change, and so does the passenger's release, or none does. */
  override async save(next: TaxiState, ctx: PayCtx): Promise<ServiceResult<PaymentResult>> {
    const data = ctx.order.data;
    const payment: PaymentEntity = {
      id: ctx.payload.paymentId,
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

  private amountOf(ctx: PayCtx): number {
    const data = ctx.order.data;
    return (ctx.order.state === OrderState.CANCEL_PENDING_PAYMENT ? data.cancellationFeeCents : data.feeCents) ?? 0;
  }
}

export interface RefundInstruction {
  refund: { paymentId: string; reason: string };
}

/**
 * A payment that arrives after the order was paid, closed unpaid or cancelled (the machine's late
 * policy for PAY there is `compensate`), or one held in TRIP_ENDED whose hold expires before the
 * fee is confirmed (`onExpiry: 'compensate'`): the money is given back. The refund is recorded with
 * the late payment, once per request, and leaves in the late-event message the payment service
 * consumes (`TAXI.*.late.PAY.compensated`); the order does not move.
 */
@LateEventCompensation({ state: [OrderState.TRIP_ENDED, OrderState.PAID, OrderState.CLOSED, OrderState.CANCELLED], event: OrderEvent.PAY, versions: [1, 2] })
export class RefundLatePayment extends AbstractLateEventCompensation<PayTypes, RefundInstruction> {
  constructor(private readonly payment: PaymentParamChecker) {
    super();
  }

  compensate(ctx: PayCtx): RefundInstruction {
    const checked = this.payment.check(ctx as never);
    if (!checked.success) throw new CheckFailedError('param-check', checked.code ?? 'INVALID_PAYMENT_ID', checked.message ?? 'invalid payment');
    const reason =
      ctx.event.source === 'held'
        ? `payment ${ctx.payload.paymentId} was held for order ${ctx.order.orderId} until its hold expired, the order in ${ctx.order.state}`
        : `order ${ctx.order.orderId} was ${ctx.order.state} when payment ${ctx.payload.paymentId} arrived`;
    return { refund: { paymentId: ctx.payload.paymentId, reason } };
  }
}

/** PAID -> CLOSED: the passenger was freed when the ride was paid. */
@OrderProcessor({ state: OrderState.PAID, event: OrderEvent.CLOSE, versions: [1, 2], payload: NoPayload })
export class CloseProcessor extends AbstractStateProcessor<TaxiTypes> {
  getNextState(): TaxiState {
    return OrderState.CLOSED;
  }

  action(_next: TaxiState, ctx: StateContext<TaxiTypes>): ServiceResult {
    ctx.order.data.closedAt = now();
    return ServiceResult.ok();
  }
}

type CancelTypes = TaxiTypes & { result: { cancellationFeeCents: number } };
type CancelCtx = StateContext<CancelTypes>;

/**
 * CANCEL before the trip starts. Where it goes depends on the data: once the driver has arrived the
 * passenger owes a cancellation fee (-> CANCEL_PENDING_PAYMENT), before that it is free (-> CANCELLED).
 */
@OrderProcessor({ state: [OrderState.CREATED, OrderState.ACCEPTED, OrderState.ARRIVED], event: OrderEvent.CANCEL, versions: [1, 2], payload: NoPayload })
export class CancelProcessor extends AbstractStateProcessor<CancelTypes> {
  constructor(@Inject(TAXI_SETTINGS) private readonly settings: TaxiSettings) {
    super();
  }

  getNextState(ctx: CancelCtx): TaxiState {
    return this.feeOf(ctx) > 0 ? OrderState.CANCEL_PENDING_PAYMENT : OrderState.CANCELLED;
  }

  action(_next: TaxiState, ctx: CancelCtx): ServiceResult<{ cancellationFeeCents: number }> {
    const cancellationFeeCents = this.feeOf(ctx);
    ctx.order.data.cancelledAt = now();
    ctx.order.data.cancellationFeeCents = cancellationFeeCents;
    if (cancellationFeeCents > 0) ctx.schedule(OrderEvent.PAYMENT_TIMEOUT, { afterMs: this.settings.paymentTimeoutMs });
    return ServiceResult.ok({ cancellationFeeCents });
  }

  /** Straight to CANCELLED frees the passenger, in this transaction; a fee still owed keeps them. */
  override async save(next: TaxiState, ctx: CancelCtx): Promise<ServiceResult<{ cancellationFeeCents: number }>> {
    await freePassengerIfFinished(ctx.manager, next, ctx.order.data.passengerId, ctx.order.orderId);
    return ServiceResult.ok();
  }

  private feeOf(ctx: CancelCtx): number {
    return cancellationFeeCents(ctx.order.bizCode, ctx.order.data.arrivedAt !== undefined);
  }
}

type FeeReviewTypes = TaxiTypes & { payload: FeeReviewPayload };
type FeeReviewCtx = StateContext<FeeReviewTypes>;

const reviewOf = (verdict: 'APPROVED' | 'REJECTED', ctx: FeeReviewCtx) => ({
  verdict,
  by: ctx.event.caller?.name ?? 'operator',
  ...(ctx.payload?.note !== undefined && { note: ctx.payload.note }),
  at: now(),
});

/** v2: an operator finds the fee under review fair; the passenger is asked to pay it (FEE_CONFIRMED, as without review). */
@OrderProcessor({ state: OrderState.FRAUD_REVIEW, event: OrderEvent.APPROVE_FEE, versions: [2], payload: FeeReviewPayload })
export class ApproveFeeProcessor extends AbstractStateProcessor<FeeReviewTypes> {
  constructor(private readonly note: FeeReviewParamChecker) {
    super();
  }

  override checkers(): CheckerPlan<FeeReviewTypes> {
    return { param: [this.note] };
  }

  getNextState(): TaxiState {
    return OrderState.FEE_CONFIRMED;
  }

  action(_next: TaxiState, ctx: FeeReviewCtx): ServiceResult {
    ctx.order.data.feeReview = reviewOf('APPROVED', ctx);
    return ServiceResult.ok();
  }
}

/** v2: an operator rejects the fee under review; the order is cancelled, nothing is owed, and the passenger is free to ride again. */
@OrderProcessor({ state: OrderState.FRAUD_REVIEW, event: OrderEvent.REJECT_FEE, versions: [2], payload: FeeReviewPayload })
export class RejectFeeProcessor extends AbstractStateProcessor<FeeReviewTypes> {
  constructor(private readonly note: FeeReviewParamChecker) {
    super();
  }

  override checkers(): CheckerPlan<FeeReviewTypes> {
    return { param: [this.note] };
  }

  getNextState(): TaxiState {
    return OrderState.CANCELLED;
  }

  action(_next: TaxiState, ctx: FeeReviewCtx): ServiceResult {
    const data = ctx.order.data;
    data.feeReview = reviewOf('REJECTED', ctx);
    data.cancelledAt = now();
    data.cancelReason = 'FEE_REJECTED';
    return ServiceResult.ok();
  }

  override async save(next: TaxiState, ctx: FeeReviewCtx): Promise<ServiceResult> {
    await freePassengerIfFinished(ctx.manager, next, ctx.order.data.passengerId, ctx.order.orderId);
    return ServiceResult.ok();
  }
}
