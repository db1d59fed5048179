import { Inject, Injectable } from '@nestjs/common';
import { AbstractStateProcessor, type CheckerPlan, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { AirportServiceTypeChecker, CreateParamChecker } from '../checkers/param-checkers.js';
import { PassengerExistsChecker, UnfinishedOrderChecker } from '../checkers/passenger-checkers.js';
import { passengerHasUnfinishedRide, takePassenger } from '../passenger-rides.js';
import {
  AirportService,
  BizCode,
  AirportCreatePayload,
  CreatePayload,
  OrderEvent,
  OrderState,
  SceneId,
  STANDARD_SCENES,
  type TaxiOrderData,
} from '../taxi.model.js';
import type { TaxiState, TaxiTypes } from '../taxi.machine.js';
import { TAXI_SETTINGS, type TaxiSettings } from '../taxi.settings.js';
import { killIfChosen } from '../test-kill-switch.js';

export interface CreateResult {
  promotion: string;
  estimatedPriceCents?: number;
}

type CreateTypes = TaxiTypes & { payload: CreatePayload; result: CreateResult };
type Ctx = StateContext<CreateTypes>;

/** CREATE for EXPRESS and PREMIUM in the standard scenes: the default every create extends. */
@OrderProcessor({
  state: OrderState.INIT,
  event: OrderEvent.CREATE,
  bizCode: [BizCode.EXPRESS, BizCode.PREMIUM],
  sceneId: STANDARD_SCENES,
  payload: CreatePayload,
})
export class CreateOrderProcessor extends AbstractStateProcessor<CreateTypes> {
  constructor(
    protected readonly params: CreateParamChecker,
    protected readonly passengerExists: PassengerExistsChecker,
    protected readonly unfinishedOrder: UnfinishedOrderChecker,
    @Inject(TAXI_SETTINGS) protected readonly settings: TaxiSettings,
  ) {
    super();
  }

  override checkers(): CheckerPlan<CreateTypes> {
    return { param: [this.params], parallel: [this.passengerExists, this.unfinishedOrder] };
  }

  getNextState(): TaxiState {
    return OrderState.CREATED;
  }

  action(_next: TaxiState, ctx: Ctx): ServiceResult<CreateResult> {
    const { passengerId, pickup, dropoff } = ctx.payload;
    killIfChosen('action', passengerId);
    const data: TaxiOrderData = { passengerId, pickup, dropoff, promotion: this.promotion(ctx) };
    Object.assign(ctx.order.data, data);
    // A durable timer: if no driver has accepted by then (the order is still at this version), cancel.
    ctx.schedule(OrderEvent.ACCEPT_TIMEOUT, { afterMs: this.settings.acceptTimeoutMs });
    return ServiceResult.ok({ promotion: data.promotion });
  }

  /**
   * The passenger's one unfinished ride, recorded in the transaction that creates the order: both
   * commit or neither does, so a crash anywhere leaves the order with its row or nothing. A second
   * unfinished ride fails here on the primary key, even when it raced past the checker. Answers with
   * what the plugins added (the estimated price) as well.
   */
  override async save(_next: TaxiState, ctx: Ctx): Promise<ServiceResult<CreateResult>> {
    const data = ctx.order.data;
    if (!(await takePassenger(ctx.manager, data.passengerId, ctx.order.orderId))) return passengerHasUnfinishedRide(data.passengerId);
    killIfChosen('save', data.passengerId);
    return ServiceResult.ok({ promotion: data.promotion, estimatedPriceCents: data.estimatedPriceCents });
  }

  override after(ctx: Ctx): void {
    killIfChosen('after', ctx.payload.passengerId);
  }

  /** The extension point subclasses override. */
  protected promotion(_ctx: Ctx): string {
    return 'EXPRESS_WELCOME';
  }
}

/** CREATE for TAXI: the express flow with the taxi red envelope instead of the welcome promotion. */
@OrderProcessor({ state: OrderState.INIT, event: OrderEvent.CREATE, bizCode: BizCode.TAXI, sceneId: STANDARD_SCENES, payload: CreatePayload })
export class TaxiCreateOrderProcessor extends CreateOrderProcessor {
  protected override promotion(): string {
    return 'TAXI_RED_ENVELOPE';
  }
}

/**
 * CREATE at the AIRPORT, any product: two processors share the key and filter() picks one by
 * payload.serviceType. PICKUP is the default; the shared param checker rejects anything but
 * PICKUP or DROPOFF, so an unknown service type is a clean CHECK_FAILED.
 */
@Injectable()
abstract class AirportCreateOrderProcessor extends CreateOrderProcessor {
  constructor(
    params: CreateParamChecker,
    passengerExists: PassengerExistsChecker,
    unfinishedOrder: UnfinishedOrderChecker,
    @Inject(TAXI_SETTINGS) settings: TaxiSettings,
    private readonly serviceType: AirportServiceTypeChecker,
  ) {
    super(params, passengerExists, unfinishedOrder, settings);
  }

  protected abstract readonly service: string;

  override checkers(): CheckerPlan<CreateTypes> {
    return { ...super.checkers(), param: [this.params, this.serviceType] };
  }

  override action(next: TaxiState, ctx: Ctx): ServiceResult<CreateResult> {
    const result = super.action(next, ctx);
    ctx.order.data.airportService = this.service;
    return result;
  }

  protected override promotion(): string {
    return `AIRPORT_${this.service}`;
  }
}

@OrderProcessor({ state: OrderState.INIT, event: OrderEvent.CREATE, sceneId: SceneId.AIRPORT, payload: AirportCreatePayload })
export class AirportPickupOrderProcessor extends AirportCreateOrderProcessor {
  protected readonly service = AirportService.PICKUP;

  override filter(ctx: Ctx): boolean {
    return ctx.payload?.serviceType !== AirportService.DROPOFF;
  }
}

@OrderProcessor({ state: OrderState.INIT, event: OrderEvent.CREATE, sceneId: SceneId.AIRPORT, payload: AirportCreatePayload })
export class AirportDropoffOrderProcessor extends AirportCreateOrderProcessor {
  protected readonly service = AirportService.DROPOFF;

  override filter(ctx: Ctx): boolean {
    return ctx.payload?.serviceType === AirportService.DROPOFF;
  }
}
