import type { MigrationInterface, QueryRunner } from 'typeorm';

// The taxi states in which a ride is not over yet: not PAID, CLOSED or CANCELLED (RIDE_FINISHED_STATES).
// As they were when the migration was written: the PostgreSQL migration of the same name uses them too.
export const UNFINISHED_RIDE_STATES = ['CREATED', 'ACCEPTED', 'ARRIVED', 'IN_TRIP', 'TRIP_ENDED', 'FEE_CONFIRMED', 'CANCEL_PENDING_PAYMENT'];
export const RIDE_BIZ_CODES = ['EXPRESS', 'TAXI', 'PREMIUM'];

/**
 * One unfinished ride per passenger, as a row written in the transaction that creates the ride and
 * removed in the one that finishes it; the primary key is the invariant. Rides already unfinished get
 * their row here, from the passenger id in the order's data, so that the invariant holds from the
 * first create after the deploy. Where a passenger already has several unfinished rides (the Redis
 * slot this replaces could lose track of one), the most recent one is recorded. Run it with no
 * instance of the previous version still creating orders: those would create rides without a row.
 */
export class TaxiPassengerActiveRide1796256000000 implements MigrationInterface {
  name = 'TaxiPassengerActiveRide1796256000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE taxi_passenger_active_ride (
        passenger_id VARCHAR(64) NOT NULL,
        order_id VARCHAR(64) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (passenger_id),
        KEY idx_taxi_passenger_active_ride_order (order_id),
        CONSTRAINT fk_taxi_passenger_active_ride_order FOREIGN KEY (order_id) REFERENCES fsm_order (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await runner.query(
      `INSERT INTO taxi_passenger_active_ride (passenger_id, order_id, created_at)
       SELECT JSON_UNQUOTE(JSON_EXTRACT(o.data, '$.passengerId')), o.id, o.created_at
       FROM fsm_order o
       WHERE o.state IN (?) AND o.biz_code IN (?) AND JSON_UNQUOTE(JSON_EXTRACT(o.data, '$.passengerId')) IS NOT NULL
       ORDER BY o.created_at DESC, o.id
       ON DUPLICATE KEY UPDATE order_id = taxi_passenger_active_ride.order_id`,
      [UNFINISHED_RIDE_STATES, RIDE_BIZ_CODES],
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE taxi_passenger_active_ride');
  }
}
