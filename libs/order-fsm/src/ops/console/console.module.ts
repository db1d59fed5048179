import { type DynamicModule, Module } from '@nestjs/common';
import { ConsoleAssets } from './console-assets.js';
import { ConsoleController, ConsolePublicController, ORDER_FSM_CONSOLE_OPTIONS, type OrderFsmConsoleOptions } from './console.controller.js';

/**
 * The operator console at `GET /console`: a web page the service serves itself, from files in the
 * package (no other server, nothing fetched from elsewhere, no inline script: it runs under a strict
 * Content-Security-Policy). Import it next to `OrderFsmModule` (which must be global, or imported
 * by the same module, for the console's diagram) and the operator API; then, in the host:
 * - restrict `ConsoleController` to the roles that may operate (as /ops), leaving
 *   `ConsolePublicController` (sign-in page, static files, sign-out) open;
 * - let its authentication take the token from the console's cookie under /console and /ops
 *   (`consoleToken`), and refuse what `crossSiteProblem` names for a request it signed in that way.
 * docs/OPERATIONS.md ("The operator console") says how the taxi service does both.
 */
@Module({})
export class OrderFsmConsoleModule {
  static register(options: OrderFsmConsoleOptions = {}): DynamicModule {
    return {
      module: OrderFsmConsoleModule,
      controllers: [ConsolePublicController, ConsoleController],
      providers: [{ provide: ORDER_FSM_CONSOLE_OPTIONS, useValue: options }, { provide: ConsoleAssets, useFactory: () => new ConsoleAssets() }],
    };
  }
}
