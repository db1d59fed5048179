import { Injectable } from '@nestjs/common';

/**
 * The corporate billing ENTERPRISE rides are charged to. The reference service bills on account
 * (nothing to call); a real one calls its billing system here, idempotently by `paymentId`.
 */
@Injectable()
export class CompanyAccounts {
  async charge(_paymentId: string, _orderId: string, _amountCents: number): Promise<void> {}
}
