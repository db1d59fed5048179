import { ApiExcludeController } from '@nestjs/swagger';
import { ConsoleController, ConsolePublicController, OrderFsmConsoleModule } from '@order-fsm/core/ops';
import { Roles } from '../auth/auth.js';
import type { ServiceConfig } from '../config/service-config.js';

// The console's pages, its diagram and its sign-in are for operators, as /ops is; its sign-in page,
// static files and sign-out are open (the authentication hook lets them through without a token).
// Neither is part of the API the OpenAPI document describes.
Roles('operator')(ConsoleController);
ApiExcludeController()(ConsoleController);
ApiExcludeController()(ConsolePublicController);

/** The operator console of order-fsm at GET /console, with the taxi service's settings. */
export const consoleModule = (config: ServiceConfig) =>
  OrderFsmConsoleModule.register({ secureCookie: config.console.secureCookie, sessionMaxAgeSeconds: config.console.sessionMaxAgeS, pollIntervalMs: config.console.pollMs });
