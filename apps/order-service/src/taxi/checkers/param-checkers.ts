import { Injectable } from '@nestjs/common';
import { type Checker, ServiceResult, type StateContext } from '@order-fsm/core';
import { isId } from '../../ids.js';
import { type AcceptPayload, AirportService, type CreatePayload, type EndTripPayload, type FeeReviewPayload, type GeoPoint, type PayPayload } from '../taxi.model.js';

const OK = ServiceResult.ok();

function isGeoPoint(value: unknown): value is GeoPoint {
  if (!value || typeof value !== 'object') return false;
  const { lat, lng } = value as Record<string, unknown>;
  return (
    typeof lat === 'number' && Number.isFinite(lat) && lat >= -90 && lat <= 90 &&
    typeof lng === 'number' && Number.isFinite(lng) && lng >= -180 && lng <= 180
  );
}

/**
 * What a param checker sees: the event's payload as the sender sent it, each field still unknown. Its
 * processor reads the payload typed (`P`), once this checker has passed.
 */
type Unchecked<P> = { payload: { readonly [K in keyof P]?: unknown } | undefined };

/** CREATE: a passenger id, and pickup and dropoff as {lat, lng}. */
@Injectable()
export class CreateParamChecker implements Checker<Unchecked<CreatePayload>> {
  check(ctx: StateContext<Unchecked<CreatePayload>>): ServiceResult {
    const p = ctx.payload ?? {};
    if (!isId(p.passengerId)) return ServiceResult.fail('INVALID_PASSENGER_ID', 'payload.passengerId must be an id of 1 to 64 characters');
    if (!isGeoPoint(p.pickup)) return ServiceResult.fail('INVALID_PICKUP', 'payload.pickup must be {lat, lng} with lat in [-90, 90] and lng in [-180, 180]');
    if (!isGeoPoint(p.dropoff)) return ServiceResult.fail('INVALID_DROPOFF', 'payload.dropoff must be {lat, lng} with lat in [-90, 90] and lng in [-180, 180]');
    return OK;
  }
}

/** AIRPORT CREATE: the airport service is PICKUP or DROPOFF. */
@Injectable()
export class AirportServiceTypeChecker implements Checker<Unchecked<CreatePayload>> {
  check(ctx: StateContext<Unchecked<CreatePayload>>): ServiceResult {
    const type = ctx.payload?.serviceType;
    return type === AirportService.PICKUP || type === AirportService.DROPOFF
      ? OK
      : ServiceResult.fail('INVALID_SERVICE_TYPE', 'payload.serviceType must be PICKUP or DROPOFF for AIRPORT orders');
  }
}

/** ACCEPT: the driver's id. */
@Injectable()
export class DriverParamChecker implements Checker<Unchecked<AcceptPayload>> {
  check(ctx: StateContext<Unchecked<AcceptPayload>>): ServiceResult {
    return isId(ctx.payload?.driverId) ? OK : ServiceResult.fail('INVALID_DRIVER_ID', 'payload.driverId must be an id of 1 to 64 characters');
  }
}

/** END_TRIP: the distance driven, in km. */
@Injectable()
export class DistanceParamChecker implements Checker<Unchecked<EndTripPayload>> {
  check(ctx: StateContext<Unchecked<EndTripPayload>>): ServiceResult {
    const km = ctx.payload?.distanceKm;
    return typeof km === 'number' && Number.isFinite(km) && km >= 0 && km <= 2000
      ? OK
      : ServiceResult.fail('INVALID_DISTANCE', 'payload.distanceKm must be a number from 0 to 2000');
  }
}

/** PAY: the payment's id. */
@Injectable()
export class PaymentParamChecker implements Checker<Unchecked<PayPayload>> {
  check(ctx: StateContext<Unchecked<PayPayload>>): ServiceResult {
    return isId(ctx.payload?.paymentId) ? OK : ServiceResult.fail('INVALID_PAYMENT_ID', 'payload.paymentId must be an id of 1 to 64 characters');
  }
}

/** APPROVE_FEE, REJECT_FEE: the operator's note, when there is one, is text of at most 500 characters. */
@Injectable()
export class FeeReviewParamChecker implements Checker<Unchecked<FeeReviewPayload>> {
  check(ctx: StateContext<Unchecked<FeeReviewPayload>>): ServiceResult {
    const note = ctx.payload?.note;
    return note === undefined || (typeof note === 'string' && note.length <= 500)
      ? OK
      : ServiceResult.fail('INVALID_NOTE', 'payload.note, when given, must be text of at most 500 characters');
  }
}
