import { Column, Entity, PrimaryColumn } from 'typeorm';

// Times are typed `Date`, which each driver maps to its own type: DATETIME(3) on MySQL and SQLite,
// a timestamp on PostgreSQL (whose migrations make them timestamptz(3), like order-fsm's own times).

@Entity('taxi_passenger')
export class PassengerEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Column({ name: 'created_at', type: Date, precision: 3 })
  createdAt: Date;
}

/** A payment, written by the PAY processor's save() in the transaction that moves the order. */
@Entity('taxi_payment')
export class PaymentEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column({ name: 'order_id', type: 'varchar', length: 64 })
  orderId: string;

  @Column({ type: 'varchar', length: 32 })
  kind: 'FARE' | 'CANCELLATION_FEE';

  @Column({ name: 'amount_cents', type: 'int', unsigned: true })
  amountCents: number;

  @Column({ name: 'created_at', type: Date, precision: 3 })
  createdAt: Date;
}

/**
 * A passenger's one unfinished ride: written by CREATE's save() and removed by the save() of the
 * transition that finishes the ride, each in the transaction that moves the order. The primary key is
 * the invariant: a second unfinished ride for the passenger cannot commit.
 */
@Entity('taxi_passenger_active_ride')
export class PassengerActiveRideEntity {
  @PrimaryColumn({ name: 'passenger_id', type: 'varchar', length: 64 })
  passengerId: string;

  @Column({ name: 'order_id', type: 'varchar', length: 64 })
  orderId: string;

  @Column({ name: 'created_at', type: Date, precision: 3 })
  createdAt: Date;
}
