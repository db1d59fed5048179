import { Inject } from '@nestjs/common';
import { AbstractStateProcessor, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { CompanyAccounts } from '../company-accounts.js';
import { freePassengerIfFinished } from '../passenger-rides.js';
import { PaymentEntity } from '../taxi.entities.js';
import { NoPayload, OrderEvent, OrderState, SceneId } from '../taxi.model.js';
import type { TaxiState, TaxiTypes } from '../taxi.machine.js';
import type { PaymentResult } from './settle.processors.js';

type Ctx = StateContext<TaxiTypes>;
type AutoPayTypes = TaxiTypes & { result: PaymentResult };

/**
 * FEE_CONFIRMED -> PAID for ENTERPRISE, with nobody calling: the worker sends AUTO_PAY when the order
 * enters FEE_CONFIRMED, and the company account pays (the article's password-free payment).
 */
@OrderProcessor({ state: OrderState.FEE_CONFIRMED, event: OrderEvent.AUTO_PAY, sceneId: SceneId.ENTERPRISE, versions: [1, 2], payload: NoPayload })
export class CompanyAutoPayProcessor extends AbstractStateProcessor<AutoPayTypes> {
  constructor(@Inject(CompanyAccounts) private readonly accounts: CompanyAccounts) {
    super();
  }

  getNextState(): TaxiState {
    return OrderState.PAID;
  }

  async action(_next: TaxiState, ctx: Ctx): Promise<ServiceResult<PaymentResult>> {
    const data = ctx.order.data;
    const paymentId = `corp-${ctx.order.orderId}`;
    await this.accounts.charge(paymentId, ctx.order.orderId, data.feeCents ?? 0);
    data.paymentId = paymentId;
    data.paidAt = new Date().toISOString();
    data.paidBy = 'COMPANY_ACCOUNT';
    return ServiceResult.ok({ paymentId, amountCents: data.feeCents ?? 0 });
  }

  /** The payment row and the passenger's release commit with the state change. */
  override async save(next: TaxiState, ctx: Ctx): Promise<ServiceResult<PaymentResult>> {
    const data = ctx.order.data;
    await ctx.manager.insert(PaymentEntity, {
      id: data.paymentId!,
      orderId: ctx.order.orderId,
      kind: 'FARE',
      amountCents: data.feeCents ?? 0,
      createdAt: new Date(),
    });
    await freePassengerIfFinished(ctx.manager, next, data.passengerId, ctx.order.orderId);
    return ServiceResult.ok();
  }
}

/** Timer: nobody accepted the order in time, so the system cancels it. */
@OrderProcessor({ state: OrderState.CREATED, event: OrderEvent.ACCEPT_TIMEOUT, versions: [1, 2], payload: NoPayload })
export class AcceptTimeoutProcessor extends AbstractStateProcessor<TaxiTypes> {
  getNextState(): TaxiState {
    return OrderState.CANCELLED;
  }

  action(_next: TaxiState, ctx: Ctx): ServiceResult {
    const data = ctx.order.data;
    data.cancelledAt = new Date().toISOString();
    data.cancelReason = 'NO_DRIVER_ACCEPTED';
    data.cancellationFeeCents = 0;
    return ServiceResult.ok();
  }

  /** The passenger is free again, in the transaction that ends the ride. */
  override async save(next: TaxiState, ctx: Ctx): Promise<ServiceResult> {
    await freePassengerIfFinished(ctx.manager, next, ctx.order.data.passengerId, ctx.order.orderId);
    return ServiceResult.ok();
  }
}

/** Timer: the cancellation fee was not paid in time; the order is closed unpaid. */
@OrderProcessor({ state: OrderState.CANCEL_PENDING_PAYMENT, event: OrderEvent.PAYMENT_TIMEOUT, versions: [1, 2], payload: NoPayload })
export class PaymentTimeoutProcessor extends AbstractStateProcessor<TaxiTypes> {
  getNextState(): TaxiState {
    return OrderState.CLOSED;
  }

  action(_next: TaxiState, ctx: Ctx): ServiceResult {
    ctx.order.data.closedAt = new Date().toISOString();
    ctx.order.data.closedReason = 'CANCELLATION_FEE_UNPAID';
    return ServiceResult.ok();
  }

  /** The passenger is free again, in the transaction that ends the ride. */
  override async save(next: TaxiState, ctx: Ctx): Promise<ServiceResult> {
    await freePassengerIfFinished(ctx.manager, next, ctx.order.data.passengerId, ctx.order.orderId);
    return ServiceResult.ok();
  }
}
