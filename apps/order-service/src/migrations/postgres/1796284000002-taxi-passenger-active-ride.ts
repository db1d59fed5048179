import type { MigrationInterface, QueryRunner } from 'typeorm';
import { RIDE_BIZ_CODES, UNFINISHED_RIDE_STATES } from '../1796256000000-taxi-passenger-active-ride.js';

/**
 * One unfinished ride per passenger on PostgreSQL: the table of the MySQL migration
 * TaxiPassengerActiveRide1796256000000, filled the same way from the rides already unfinished (the passenger id in the order's `jsonb`
 * data; the most recent ride where a passenger has several), so that both databases carry the same
 * history of migrations and either can be brought forward from the first one.
 */
export class TaxiPassengerActiveRidePostgres1796284000002 implements MigrationInterface {
  name = 'TaxiPassengerActiveRidePostgres1796284000002';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE taxi_passenger_active_ride (
        passenger_id VARCHAR(64) NOT NULL,
        order_id VARCHAR(64) NOT NULL,
        created_at TIMESTAMPTZ(3) NOT NULL,
        CONSTRAINT taxi_passenger_active_ride_pkey PRIMARY KEY (passenger_id),
        CONSTRAINT fk_taxi_passenger_active_ride_order FOREIGN KEY (order_id) REFERENCES fsm_order (id))`);
    await runner.query('CREATE INDEX idx_taxi_passenger_active_ride_order ON taxi_passenger_active_ride (order_id)');
    await runner.query(
      `INSERT INTO taxi_passenger_active_ride (passenger_id, order_id, created_at)
       SELECT DISTINCT ON (o.data->>'passengerId') o.data->>'passengerId', o.id, o.created_at
       FROM fsm_order o
       WHERE o.state = ANY($1) AND o.biz_code = ANY($2) AND o.data->>'passengerId' IS NOT NULL
       ORDER BY o.data->>'passengerId', o.created_at DESC, o.id`,
      [UNFINISHED_RIDE_STATES, RIDE_BIZ_CODES],
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE taxi_passenger_active_ride');
  }
}
