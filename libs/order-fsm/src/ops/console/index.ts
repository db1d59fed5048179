// The operator console: its module and controllers, and the sign-in cookie's rules for the host's authentication.
export { OrderFsmConsoleModule } from './console.module.js';
export { ConsoleController, ConsolePublicController, ORDER_FSM_CONSOLE_OPTIONS, type OrderFsmConsoleOptions } from './console.controller.js';
export { ConsoleAssets, CONSOLE_ASSETS_DIR, type ConsoleAsset } from './console-assets.js';
export {
  CONSOLE_COOKIE,
  CONSOLE_COOKIE_PATHS,
  CONSOLE_PATH,
  CONSOLE_REQUEST_HEADER,
  CONSOLE_REQUEST_HEADER_VALUE,
  CONSOLE_SESSION_MAX_AGE_S,
  bearerToken,
  clearedSessionCookie,
  consoleToken,
  cookieApplies,
  crossSiteProblem,
  isConsolePage,
  isConsolePublic,
  pathOf,
  sessionCookie,
  signInLocation,
  type SessionCookieOptions,
} from './console-session.js';
