/** What the taxi processors read from the service's configuration. */
export interface TaxiSettings {
  readonly acceptTimeoutMs: number;
  readonly paymentTimeoutMs: number;
  /** v2: a fee above this, in cents, goes to FRAUD_REVIEW instead of FEE_CONFIRMED. Default 100_000. */
  readonly fraudReviewAboveCents?: number;
}

export const DEFAULT_FRAUD_REVIEW_ABOVE_CENTS = 100_000;

export const TAXI_SETTINGS = Symbol('taxi:settings');
