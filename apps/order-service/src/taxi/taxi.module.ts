import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import {
  AirportServiceTypeChecker,
  CreateParamChecker,
  DistanceParamChecker,
  DriverParamChecker,
  FeeReviewParamChecker,
  PaymentParamChecker,
} from './checkers/param-checkers.js';
import { PassengerExistsChecker, UnfinishedOrderChecker } from './checkers/passenger-checkers.js';
import { CompanyAccounts } from './company-accounts.js';
import { EstimatedPricePlugin } from './plugins/estimated-price.plugin.js';
import {
  AirportDropoffOrderProcessor,
  AirportPickupOrderProcessor,
  CreateOrderProcessor,
  TaxiCreateOrderProcessor,
} from './processors/create-order.processors.js';
import {
  AcceptOrderProcessor,
  ArriveProcessor,
  ConfirmFeeProcessor,
  ConfirmFeeWithReviewProcessor,
  EndTripProcessor,
  StartTripProcessor,
} from './processors/ride.processors.js';
import { ApproveFeeProcessor, CancelProcessor, CloseProcessor, PayProcessor, RefundLatePayment, RejectFeeProcessor } from './processors/settle.processors.js';
import { AcceptTimeoutProcessor, CompanyAutoPayProcessor, PaymentTimeoutProcessor } from './processors/system.processors.js';
import { TAXI_SETTINGS, type TaxiSettings } from './taxi.settings.js';

/** Every provider of the taxi machine: its checkers, processors, compensations and plugins, and what they need. */
export const TAXI_PROVIDERS = [
  CompanyAccounts,
  CreateParamChecker,
  AirportServiceTypeChecker,
  DriverParamChecker,
  DistanceParamChecker,
  PaymentParamChecker,
  FeeReviewParamChecker,
  PassengerExistsChecker,
  UnfinishedOrderChecker,
  CreateOrderProcessor,
  TaxiCreateOrderProcessor,
  AirportPickupOrderProcessor,
  AirportDropoffOrderProcessor,
  AcceptOrderProcessor,
  ArriveProcessor,
  StartTripProcessor,
  EndTripProcessor,
  ConfirmFeeProcessor,
  ConfirmFeeWithReviewProcessor,
  ApproveFeeProcessor,
  RejectFeeProcessor,
  PayProcessor,
  RefundLatePayment,
  CloseProcessor,
  CancelProcessor,
  CompanyAutoPayProcessor,
  AcceptTimeoutProcessor,
  PaymentTimeoutProcessor,
  EstimatedPricePlugin,
];

/**
 * The taxi machine: its processors, checkers and plugins. order-fsm finds them at bootstrap.
 * `providers` replaces TAXI_PROVIDERS (the tests boot the service as an earlier release had them).
 */
@Module({})
export class TaxiModule {
  static register(settings: TaxiSettings, providers: readonly Provider[] = TAXI_PROVIDERS): DynamicModule {
    return { module: TaxiModule, providers: [...providers, { provide: TAXI_SETTINGS, useValue: settings }] };
  }
}
