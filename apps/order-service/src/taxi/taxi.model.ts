/** The taxi machine's vocabulary. */
export const BizCode = { EXPRESS: 'EXPRESS', TAXI: 'TAXI', PREMIUM: 'PREMIUM' } as const;
export type BizCode = (typeof BizCode)[keyof typeof BizCode];
export const BIZ_CODES = Object.values(BizCode);

export const SceneId = { APP: 'APP', H5: 'H5', AIRPORT: 'AIRPORT', ENTERPRISE: 'ENTERPRISE' } as const;
export type SceneId = (typeof SceneId)[keyof typeof SceneId];
export const SCENE_IDS = Object.values(SceneId);
/**
 * The reasons the taxi checkers and processors refuse with (their ServiceResult.fail codes): metrics
 * name these, any other reason `other`.
 */
export const REFUSAL_REASONS = [
  'INVALID_PASSENGER_ID',
  'INVALID_PICKUP',
  'INVALID_DROPOFF',
  'INVALID_SERVICE_TYPE',
  'INVALID_DRIVER_ID',
  'INVALID_DISTANCE',
  'INVALID_PAYMENT_ID',
  'INVALID_NOTE',
  'PASSENGER_NOT_FOUND',
  'PASSENGER_HAS_UNFINISHED_ORDER',
  'PAYMENT_ALREADY_RECORDED',
] as const;
/** Scenes served by the standard create processors; AIRPORT has its own. */
export const STANDARD_SCENES = [SceneId.APP, SceneId.H5, SceneId.ENTERPRISE] as const;

export const OrderState = {
  INIT: 'INIT',
  CREATED: 'CREATED',
  ACCEPTED: 'ACCEPTED',
  ARRIVED: 'ARRIVED',
  IN_TRIP: 'IN_TRIP',
  TRIP_ENDED: 'TRIP_ENDED',
  FEE_CONFIRMED: 'FEE_CONFIRMED',
  PAID: 'PAID',
  CLOSED: 'CLOSED',
  CANCELLED: 'CANCELLED',
  CANCEL_PENDING_PAYMENT: 'CANCEL_PENDING_PAYMENT',
  /** v2: a fee above the review threshold waits for an operator before the passenger is asked to pay. */
  FRAUD_REVIEW: 'FRAUD_REVIEW',
} as const;
export type OrderState = (typeof OrderState)[keyof typeof OrderState];

/** States in which the passenger no longer has an unfinished ride. */
export const RIDE_FINISHED_STATES: ReadonlySet<string> = new Set([OrderState.PAID, OrderState.CLOSED, OrderState.CANCELLED]);

export const OrderEvent = {
  CREATE: 'CREATE',
  ACCEPT: 'ACCEPT',
  ARRIVE: 'ARRIVE',
  START_TRIP: 'START_TRIP',
  END_TRIP: 'END_TRIP',
  CONFIRM_FEE: 'CONFIRM_FEE',
  PAY: 'PAY',
  CLOSE: 'CLOSE',
  CANCEL: 'CANCEL',
  /** ENTERPRISE: the company account pays, by itself. */
  AUTO_PAY: 'AUTO_PAY',
  /** Timers: nobody accepted the order in time; the fee was not paid in time. */
  ACCEPT_TIMEOUT: 'ACCEPT_TIMEOUT',
  PAYMENT_TIMEOUT: 'PAYMENT_TIMEOUT',
  /** v2: an operator's verdict on a fee under review. */
  APPROVE_FEE: 'APPROVE_FEE',
  REJECT_FEE: 'REJECT_FEE',
} as const;
export type OrderEvent = (typeof OrderEvent)[keyof typeof OrderEvent];

export interface GeoPoint {
  lat: number;
  lng: number;
}

export const AirportService = { PICKUP: 'PICKUP', DROPOFF: 'DROPOFF' } as const;

/** What the taxi service keeps in an order's data. */
export interface TaxiOrderData {
  passengerId: string;
  pickup: GeoPoint;
  dropoff: GeoPoint;
  promotion: string;
  estimatedPriceCents?: number;
  airportService?: string;
  driverId?: string;
  acceptedAt?: string;
  arrivedAt?: string;
  startedAt?: string;
  endedAt?: string;
  distanceKm?: number;
  feeCents?: number;
  paymentId?: string;
  paidAt?: string;
  /** COMPANY_ACCOUNT when an ENTERPRISE ride paid by itself. */
  paidBy?: string;
  cancelledAt?: string;
  cancellationFeeCents?: number;
  /** Why the system cancelled it (NO_DRIVER_ACCEPTED). */
  cancelReason?: string;
  closedAt?: string;
  /** Why the system closed it (CANCELLATION_FEE_UNPAID). */
  closedReason?: string;
  /** v2: when the fee went to review, and the operator's verdict on it. */
  feeReviewAt?: string;
  feeReview?: { verdict: 'APPROVED' | 'REJECTED'; by: string; note?: string; at: string };
}

/** The payloads of the events that carry one, as their param checkers leave them. */
export interface CreatePayload {
  passengerId: string;
  pickup: GeoPoint;
  dropoff: GeoPoint;
  serviceType?: string;
}

export interface AcceptPayload {
  driverId: string;
}

export interface EndTripPayload {
  distanceKm: number;
}

export interface PayPayload {
  paymentId: string;
}

/** APPROVE_FEE, REJECT_FEE: the operator's note, if any. */
export interface FeeReviewPayload {
  note?: string;
}
