import { AbstractStateProcessor, type CheckerPlan, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { DistanceParamChecker, DriverParamChecker } from '../checkers/param-checkers.js';
import { fareCents } from '../fares.js';
import { type AcceptPayload, type EndTripPayload, OrderEvent, OrderState } from '../taxi.model.js';
import type { TaxiState, TaxiTypes } from '../taxi.machine.js';

const now = () => new Date().toISOString();

type AcceptTypes = TaxiTypes & { payload: AcceptPayload };

@OrderProcessor({ state: OrderState.CREATED, event: OrderEvent.ACCEPT })
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

@OrderProcessor({ state: OrderState.ACCEPTED, event: OrderEvent.ARRIVE })
export class ArriveProcessor extends AbstractStateProcessor<TaxiTypes> {
  getNextState(): TaxiState {
    return OrderState.ARRIVED;
  }

  action(_next: TaxiState, ctx: StateContext<TaxiTypes>): ServiceResult {
    ctx.order.data.arrivedAt = now();
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: OrderState.ARRIVED, event: OrderEvent.START_TRIP })
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

@OrderProcessor({ state: OrderState.IN_TRIP, event: OrderEvent.END_TRIP })
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

/** The fare, by product (bizCode) and distance. */
@OrderProcessor({ state: OrderState.TRIP_ENDED, event: OrderEvent.CONFIRM_FEE })
export class ConfirmFeeProcessor extends AbstractStateProcessor<ConfirmFeeTypes> {
  getNextState(): TaxiState {
    return OrderState.FEE_CONFIRMED;
  }

  action(_next: TaxiState, ctx: StateContext<ConfirmFeeTypes>): ServiceResult<{ feeCents: number }> {
    const data = ctx.order.data;
    data.feeCents = fareCents(ctx.order.bizCode, data.distanceKm ?? 0);
    return ServiceResult.ok({ feeCents: data.feeCents });
  }
}
