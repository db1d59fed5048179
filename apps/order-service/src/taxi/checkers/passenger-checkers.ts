import { Injectable } from '@nestjs/common';
import { type Checker, DependencyUnavailableError, isConnectionError, ServiceResult, type StateContext } from '@order-fsm/core';
import { DataSource } from 'typeorm';
import { PassengerSlots } from '../passenger-slots.js';
import { PassengerEntity } from '../taxi.entities.js';
import type { CreatePayload } from '../taxi.model.js';

/** CREATE, in parallel: the passenger exists. */
@Injectable()
export class PassengerExistsChecker implements Checker<unknown, CreatePayload> {
  readonly order = 1;

  constructor(private readonly dataSource: DataSource) {}

  async check(ctx: StateContext<unknown, CreatePayload>): Promise<ServiceResult> {
    const { passengerId } = ctx.payload;
    let exists: boolean;
    try {
      exists = await this.dataSource.getRepository(PassengerEntity).exists({ where: { id: passengerId } });
    } catch (error) {
      throw isConnectionError(error) ? new DependencyUnavailableError('database', error) : error;
    }
    return exists ? ServiceResult.ok() : ServiceResult.fail('PASSENGER_NOT_FOUND', `passenger ${passengerId} does not exist`);
  }
}

interface SlotContext {
  passengerSlotHeld?: boolean;
}

/**
 * CREATE, in parallel: the passenger has no other unfinished ride. It holds the passenger's slot
 * while the order is created, and gives it back if the create fails for any reason.
 */
@Injectable()
export class UnfinishedOrderChecker implements Checker<SlotContext, CreatePayload> {
  readonly order = 2;

  constructor(private readonly slots: PassengerSlots) {}

  async check(ctx: StateContext<SlotContext, CreatePayload>): Promise<ServiceResult> {
    const { passengerId } = ctx.payload;
    const held = await this.slots.hold(passengerId, ctx.order.orderId);
    ctx.context.passengerSlotHeld = held;
    return held
      ? ServiceResult.ok()
      : ServiceResult.fail('PASSENGER_HAS_UNFINISHED_ORDER', `passenger ${passengerId} already has an unfinished ride`);
  }

  needRelease(ctx: StateContext<SlotContext, CreatePayload>): boolean {
    return ctx.context.passengerSlotHeld === true;
  }

  async release(ctx: StateContext<SlotContext, CreatePayload>, result: ServiceResult): Promise<void> {
    if (!result.success) await this.slots.free(ctx.payload.passengerId, ctx.order.orderId);
  }
}
