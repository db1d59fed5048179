import { AbstractStateProcessor, type CheckerPlan, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { DistanceParamChecker, DriverParamChecker } from '../checkers/param-checkers.js';
import { fareCents } from '../fares.js';
import { OrderEvent, OrderState, type TaxiOrderData } from '../taxi.model.js';

type Ctx = StateContext<unknown, Record<string, unknown>>;
const dataOf = (ctx: Ctx) => ctx.order.data as TaxiOrderData;
const now = () => new Date().toISOString();

@OrderProcessor({ state: OrderState.CREATED, event: OrderEvent.ACCEPT })
export class AcceptOrderProcessor extends AbstractStateProcessor {
  constructor(private readonly driver: DriverParamChecker) {
    super();
  }

  override checkers(): CheckerPlan {
    return { param: [this.driver] };
  }

  getNextState(): string {
    return OrderState.ACCEPTED;
  }

  action(_next: string, ctx: Ctx): ServiceResult {
    Object.assign(dataOf(ctx), { driverId: ctx.payload.driverId as string, acceptedAt: now() });
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: OrderState.ACCEPTED, event: OrderEvent.ARRIVE })
export class ArriveProcessor extends AbstractStateProcessor {
  getNextState(): string {
    return OrderState.ARRIVED;
  }

  action(_next: string, ctx: Ctx): ServiceResult {
    dataOf(ctx).arrivedAt = now();
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: OrderState.ARRIVED, event: OrderEvent.START_TRIP })
export class StartTripProcessor extends AbstractStateProcessor {
  getNextState(): string {
    return OrderState.IN_TRIP;
  }

  action(_next: string, ctx: Ctx): ServiceResult {
    dataOf(ctx).startedAt = now();
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: OrderState.IN_TRIP, event: OrderEvent.END_TRIP })
export class EndTripProcessor extends AbstractStateProcessor {
  constructor(private readonly distance: DistanceParamChecker) {
    super();
  }

  override checkers(): CheckerPlan {
    return { param: [this.distance] };
  }

  getNextState(): string {
    return OrderState.TRIP_ENDED;
  }

  action(_next: string, ctx: Ctx): ServiceResult {
    Object.assign(dataOf(ctx), { distanceKm: ctx.payload.distanceKm as number, endedAt: now() });
    return ServiceResult.ok();
  }
}

/** The fare, by product (bizCode) and distance. */
@OrderProcessor({ state: OrderState.TRIP_ENDED, event: OrderEvent.CONFIRM_FEE })
export class ConfirmFeeProcessor extends AbstractStateProcessor<{ feeCents: number }> {
  getNextState(): string {
    return OrderState.FEE_CONFIRMED;
  }

  action(_next: string, ctx: Ctx): ServiceResult<{ feeCents: number }> {
    const data = dataOf(ctx);
    data.feeCents = fareCents(ctx.order.bizCode, data.distanceKm ?? 0);
    return ServiceResult.ok({ feeCents: data.feeCents });
  }
}
