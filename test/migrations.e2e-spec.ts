import { TaxiPassengerActiveRide1796256000000 } from '../apps/order-service/src/migrations/1796256000000-taxi-passenger-active-ride.js';
import { TaxiPassengerActiveRidePostgres1796284000002 } from '../apps/order-service/src/migrations/postgres/1796284000002-taxi-passenger-active-ride.js';
import { DATABASE, DATABASE_NAME, sql } from './support/database.js';
import { activeRideOf, advance, createOrder, newPassenger, TO_FEE_CONFIRMED, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

describe(`the migration to one active-ride row per passenger (${DATABASE_NAME})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ workerEnabled: false });
  });
  afterAll(async () => {
    await t.close();
  });

  async function rideThrough(steps: Array<[string, Record<string, unknown>]>) {
    const passengerId = await newPassenger(t);
    const orderId = await createOrder(t, { passengerId });
    for (const [event, payload] of steps) await advance(t, orderId, event, payload);
    return { passengerId, orderId };
  }

  it('backfills a row for every ride not over yet, and none for the rides that are', async () => {
    const created = await rideThrough([]);
    const inTrip = await rideThrough([
      ['ACCEPT', { driverId: 'd' }],
      ['ARRIVE', {}],
      ['START_TRIP', {}],
    ]);
    const owesFee = await rideThrough([
      ['ACCEPT', { driverId: 'd' }],
      ['ARRIVE', {}],
      ['CANCEL', {}],
    ]);
    const cancelled = await rideThrough([['CANCEL', {}]]);
    const paid = await rideThrough([...TO_FEE_CONFIRMED, ['PAY', { paymentId: uid('pay') }]]);
    // Two unfinished rides of one passenger, as a Redis slot that lost its key could let through.
    const twice = await newPassenger(t);
    await createOrder(t, { passengerId: twice });
    await sql(t.dataSource, 'DELETE FROM taxi_passenger_active_ride WHERE passenger_id = ?', [twice]);
    const newer = await createOrder(t, { passengerId: twice });

    // As deployed onto orders that have no rows: the table dropped, then made and filled again, in the database's own SQL.
    const migration = DATABASE === 'postgres' ? new TaxiPassengerActiveRidePostgres1796284000002() : new TaxiPassengerActiveRide1796256000000();
    const runner = t.dataSource.createQueryRunner();
    try {
      await migration.down(runner);
      await migration.up(runner);
    } finally {
      await runner.release();
    }

    for (const ride of [created, inTrip, owesFee]) expect(await activeRideOf(t.dataSource, ride.passengerId)).toEqual([ride.orderId]);
    for (const ride of [cancelled, paid]) expect(await activeRideOf(t.dataSource, ride.passengerId)).toEqual([]);
    expect(await activeRideOf(t.dataSource, twice)).toEqual([newer]);
  });
});
