import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { TestCaller } from './callers.js';
import { sql } from './database.js';
import type { TestApp } from './test-app.js';

/** What the helpers need of an app: its HTTP client (a test app, or a service process). */
export type TestAppLike = Pick<TestApp, 'http'>;

export const uid = (prefix: string): string => `${prefix}-${randomUUID()}`;

/** The events (and payloads) that take a new order to FEE_CONFIRMED. */
export const TO_FEE_CONFIRMED: Array<[string, Record<string, unknown>]> = [
  ['ACCEPT', { driverId: 'd-1' }],
  ['ARRIVE', {}],
  ['START_TRIP', {}],
  ['END_TRIP', { distanceKm: 10 }],
  ['CONFIRM_FEE', {}],
];

export const PICKUP = { lat: 31.2304, lng: 121.4737 };
export const DROPOFF = { lat: 31.1443, lng: 121.8083 };

export async function newPassenger(t: TestAppLike): Promise<string> {
  const passengerId = uid('p');
  await t.http().put(`/passengers/${passengerId}`).send({ name: 'Test Passenger' }).expect(200);
  return passengerId;
}

export interface CreateOptions {
  bizCode?: string;
  sceneId?: string;
  passengerId?: string;
  payload?: Record<string, unknown>;
  requestId?: string;
}

export async function postOrder(t: TestAppLike, options: CreateOptions = {}) {
  const passengerId = options.passengerId ?? (await newPassenger(t));
  return t
    .http()
    .post('/orders')
    .send({
      requestId: options.requestId ?? uid('create'),
      bizCode: options.bizCode ?? 'EXPRESS',
      sceneId: options.sceneId ?? 'APP',
      payload: { passengerId, pickup: PICKUP, dropoff: DROPOFF, ...options.payload },
    });
}

/** Creates an order and answers its id; fails the test unless it is created. */
export async function createOrder(t: TestAppLike, options: CreateOptions = {}): Promise<string> {
  const response = await postOrder(t, options);
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.orderId;
}

/** Who sends an event in the tests unless told: the payment service sends PAY, the client the rest. */
const senderOf = (event: string): TestCaller => (event === 'PAY' ? 'payment' : 'client');

export function sendEvent(
  t: TestAppLike,
  orderId: string,
  event: string,
  payload: Record<string, unknown> = {},
  extra: { requestId?: string; expectedState?: string; as?: TestCaller } = {},
) {
  return t
    .http(extra.as ?? senderOf(event))
    .post(`/orders/${orderId}/events`)
    .send({ event, requestId: extra.requestId ?? uid('req'), payload, ...(extra.expectedState && { expectedState: extra.expectedState }) });
}

/** Sends an event that must apply, and answers the response body. */
export async function advance(t: TestAppLike, orderId: string, event: string, payload: Record<string, unknown> = {}, requestId?: string) {
  const response = await sendEvent(t, orderId, event, payload, { requestId });
  if (response.status !== 200) throw new Error(`${event} failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export async function transitionsOf(t: TestAppLike, orderId: string) {
  return (await t.http().get(`/orders/${orderId}/transitions`).expect(200)).body as Array<{
    version: number;
    event: string;
    fromState: string;
    toState: string;
    requestId: string;
    source: string;
    caller: string;
  }>;
}

/** The order recorded as the passenger's one unfinished ride, if any (on MariaDB, PostgreSQL or the embedded SQLite). */
export async function activeRideOf(db: DataSource, passengerId: string): Promise<string[]> {
  const rows = await sql<{ order_id: string }>(db, 'SELECT order_id FROM taxi_passenger_active_ride WHERE passenger_id = ?', [passengerId]);
  return rows.map((row) => row.order_id);
}
