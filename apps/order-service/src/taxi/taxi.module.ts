import { type DynamicModule, Module } from '@nestjs/common';
import { AirportServiceTypeChecker, CreateParamChecker, DistanceParamChecker, DriverParamChecker, PaymentParamChecker } from './checkers/param-checkers.js';
import { PassengerExistsChecker, UnfinishedOrderChecker } from './checkers/passenger-checkers.js';
import { CompanyAccounts } from './company-accounts.js';
import { EstimatedPricePlugin } from './plugins/estimated-price.plugin.js';
import {
  AirportDropoffOrderProcessor,
  AirportPickupOrderProcessor,
  CreateOrderProcessor,
  TaxiCreateOrderProcessor,
} from './processors/create-order.processors.js';
import { AcceptOrderProcessor, ArriveProcessor, ConfirmFeeProcessor, EndTripProcessor, StartTripProcessor } from './processors/ride.processors.js';
import { CancelProcessor, CloseProcessor, PayProcessor, RefundLatePayment } from './processors/settle.processors.js';
import { AcceptTimeoutProcessor, CompanyAutoPayProcessor, PaymentTimeoutProcessor } from './processors/system.processors.js';
import { TAXI_SETTINGS, type TaxiSettings } from './taxi.settings.js';

const providers = [
  CompanyAccounts,
  CreateParamChecker,
  AirportServiceTypeChecker,
  DriverParamChecker,
  DistanceParamChecker,
  PaymentParamChecker,
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
  PayProcessor,
  RefundLatePayment,
  CloseProcessor,
  CancelProcessor,
  CompanyAutoPayProcessor,
  AcceptTimeoutProcessor,
  PaymentTimeoutProcessor,
  EstimatedPricePlugin,
];

/** The taxi machine: its processors, checkers and plugins. order-fsm finds them at bootstrap. */
@Module({})
export class TaxiModule {
  static register(settings: TaxiSettings): DynamicModule {
    return { module: TaxiModule, providers: [...providers, { provide: TAXI_SETTINGS, useValue: settings }] };
  }
}
