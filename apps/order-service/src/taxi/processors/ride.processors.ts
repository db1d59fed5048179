import { Inject } from '@nestjs/common';
import { AbstractStateProcessor, type CheckerPlan, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { DistanceParamChecker, DriverParamChecker } from '../checkers/param-checkers.js';
import { fareCents } from '../fares.js';
import { AcceptPayload, EndTripPayload, NoPayload, OrderEvent, OrderState } from '../taxi.model.js';
import type { TaxiState, TaxiTypes } from '../taxi.machine.js';
import { DEFAULT_FRAUD_REVIEW_ABOVE_CENTS, TAXI_SETTINGS, type TaxiSettings } from '../taxi.settings.js';

const now = () => new Date().toISOString();

type AcceptTypes = TaxiTypes & { payload: AcceptPayload };

@OrderProcessor({ state: OrderState.CREATED, event: OrderEvent.ACCEPT, versions: [1, 2], payload: AcceptPayload })
export class AcceptOrderProcessor extends AbstractStateProcessor<AcceptTypes> {
  constructor(private readonly driver: DriverParamChecker) {
    super();
  }

  override checkers(): CheckerPlan<AcceptTypes> {
    return { param: [this.driver] };
  }

  getNextState(): TaxiState {
    return OrderState.ACCEPTED;
  }

  action(_next: TaxiState, ctx: StateContext<AcceptTypes>): ServiceResult {
    ctx.order.data.driverId = ctx.payload.driverId;
    ctx.order.data.acceptedAt = now();
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: OrderState.ACCEPTED, event: OrderEvent.ARRIVE, versions: [1, 2], payload: NoPayload })
export class ArriveProcessor extends AbstractStateProcessor<TaxiTypes> {
  getNextState(): TaxiState {
    return OrderState.ARRIVED;
  }

  action(_next: TaxiState, ctx: StateContext<TaxiTypes>): ServiceResult {
    ctx.order.data.arrivedAt = now();
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: OrderState.ARRIVED, event: OrderEvent.START_TRIP, versions: [1, 2], payload: NoPayload })
export class StartTripProcessor extends AbstractStateProcessor<TaxiTypes> {
  getNextState(): TaxiState {
    return OrderState.IN_TRIP;
  }

  action(_next: TaxiState, ctx: StateContext<TaxiTypes>): ServiceResult {
    ctx.order.data.startedAt = now();
    return ServiceResult.ok();
  }
}

type EndTripTypes = TaxiTypes & { payload: EndTripPayload };

@OrderProcessor({ state: OrderState.IN_TRIP, event: OrderEvent.END_TRIP, versions: [1, 2], payload: EndTripPayload })
export class EndTripProcessor extends AbstractStateProcessor<EndTripTypes> {
  constructor(private readonly distance: DistanceParamChecker) {
    super();
  }

  override checkers(): CheckerPlan<EndTripTypes> {
    return { param: [this.distance] };
  }

  getNextState(): TaxiState {
    return OrderState.TRIP_ENDED;
  }

  action(_next: TaxiState, ctx: StateContext<EndTripTypes>): ServiceResult {
    ctx.order.data.distanceKm = ctx.payload.distanceKm;
    ctx.order.data.endedAt = now();
    return ServiceResult.ok();
  }
}

type ConfirmFeeTypes = TaxiTypes & { result: { feeCents: number } };

/** The fare, by product (bizCode) and distance, kept in the order's data. */
function confirmFee(ctx: StateContext<ConfirmFeeTypes>): ServiceResult<{ feeCents: number }> {
  const data = ctx.order.data;
  data.feeCents = fareCents(ctx.order.bizCode, data.distanceKm ?? 0);
  return ServiceResult.ok({ feeCents: data.feeCents });
}

/** v1: the fare is confirmed, whatever it is. */
@OrderProcessor({ state: OrderState.TRIP_ENDED, event: OrderEvent.CONFIRM_FEE, versions: [1], payload: NoPayload })
export class ConfirmFeeProcessor extends AbstractStateProcessor<ConfirmFeeTypes> {
  getNextState(): TaxiState {
    return OrderState.FEE_CONFIRMED;
  }

  action(_next: TaxiState, ctx: StateContext<ConfirmFeeTypes>): ServiceResult<{ feeCents: number }> {
    return confirmFee(ctx);
  }
}

/** v2: the fare is confirmed, unless it is above the review threshold: then an operator looks at it first (FRAUD_REVIEW). */
@OrderProcessor({ state: OrderState.TRIP_ENDED, event: OrderEvent.CONFIRM_FEE, versions: [2], payload: NoPayload })
export class ConfirmFeeWithReviewProcessor extends AbstractStateProcessor<ConfirmFeeTypes> {
  private readonly reviewAboveCents: number;

  constructor(@Inject(TAXI_SETTINGS) settings: TaxiSettings) {
    super();
    this.reviewAboveCents = settings.fraudReviewAboveCents ?? DEFAULT_FRAUD_REVIEW_ABOVE_CENTS;
  }

  getNextState(ctx: StateContext<ConfirmFeeTypes>): TaxiState {
    return fareCents(ctx.order.bizCode, ctx.order.data.distanceKm ?? 0) > this.reviewAboveCents ? OrderState.FRAUD_REVIEW : OrderState.FEE_CONFIRMED;
  }

  action(next: TaxiState, ctx: StateContext<ConfirmFeeTypes>): ServiceResult<{ feeCents: number }> {
    if (next === OrderState.FRAUD_REVIEW) ctx.order.data.feeReviewAt = now();
    return confirmFee(ctx);
  }
}
