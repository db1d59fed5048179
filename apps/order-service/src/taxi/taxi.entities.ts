import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('taxi_passenger')
export class PassengerEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
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

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
