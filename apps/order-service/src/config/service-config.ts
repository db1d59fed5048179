import { type CallerEntry, generateCallers, parseApiTokens } from '../auth/callers.js';
import type { TaxiMachineOptions } from '../taxi/taxi.machine.js';
import { type TracingConfig, tracingConfigOf } from '../tracing/tracing-config.js';

/** The service's configuration, read once from the environment. */

export interface ServiceConfig {
  /**
   * `embedded` when none of DATABASE_URL, REDIS_URL and AMQP_URL is set: SQLite through TypeORM, an
   * in-process lock and an in-process queue, for a first run with nothing installed. `external` when
   * all three are set: MariaDB, MySQL or PostgreSQL (by DATABASE_URL's scheme), Redis and RabbitMQ.
   * The engine is the same in both.
   */
  readonly mode: 'embedded' | 'external';
  /** Embedded mode only: a file to keep the SQLite database in; unset, it lives in memory. */
  readonly sqliteFile?: string;
  readonly port: number;
  /**
   * Who may call the service (`API_TOKENS`: `name:role:token,...`). Embedded mode without
   * API_TOKENS makes one caller per role with a fresh token and prints them (`callersGenerated`).
   */
  readonly callers: readonly CallerEntry[];
  readonly callersGenerated: boolean;
  /** JSON log lines at this level and above (pino): one per request, one per transition, and faults. */
  readonly logLevel: LogLevel;
  /**
   * `pretty`: one coloured, readable line per entry (pino-pretty), for a person at a terminal;
   * `json`: one JSON object per line, for a log pipeline. `LOG_FORMAT` chooses; unset, it is
   * `pretty` when stdout is a terminal and NODE_ENV is not `production`, else `json`.
   */
  readonly logFormat: LogFormat;
  /** OpenTelemetry tracing, from the OTEL_* variables; none unless they ask for it (docs/OPERATIONS.md, Tracing). */
  readonly tracing?: TracingConfig;
  /** `mysql://` or `mariadb://` (MariaDB 10.6+, MySQL 8), `postgres://` or `postgresql://` (PostgreSQL 12+). */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly amqpUrl: string;
  /** Run pending TypeORM migrations at start-up. */
  readonly runMigrations: boolean;
  readonly databasePoolSize: number;
  /** How long start-up waits for Redis before serving anyway (requests needing it then answer 503). */
  readonly redisReadyTimeoutMs: number;
  readonly lock: { readonly enabled: boolean; readonly ttlMs: number; readonly waitMs: number };
  /** Bodies over this many bytes are refused (PAYLOAD_TOO_LARGE). */
  readonly bodyLimitBytes: number;
  /**
   * How long a client may take to send a request: its headers within `headersMs`, the whole of it
   * (headers and body) within `requestMs`, or the connection is answered 408 and closed. A socket on
   * which nothing moves either way for `connectionMs` is closed, whatever it was doing.
   */
  readonly http: { readonly headersTimeoutMs: number; readonly requestTimeoutMs: number; readonly connectionTimeoutMs: number };
  /**
   * Each caller (a bearer token, or an address without one) may send `max` requests per `windowMs`,
   * in each instance; more are RATE_LIMITED (429) with Retry-After. `max` 0 turns the limit off.
   */
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  /** Exchanges and queues are named `{amqpPrefix}.events`, `{amqpPrefix}.work`, ... */
  readonly amqpPrefix: string;
  readonly relayEnabled: boolean;
  /** Published status messages are purged from the outbox after this. */
  readonly outboxRetentionMs: number;
  readonly workerEnabled: boolean;
  readonly workerRetryDelaysMs: readonly number[];
  readonly workerPrefetch: number;
  /** On SIGTERM, how long events in flight may take to finish; the process exits at the latest 5 s later. */
  readonly shutdownTimeoutMs: number;
  readonly timersEnabled: boolean;
  readonly timerPollMs: number;
  readonly sweeperEnabled: boolean;
  readonly sweeperIntervalMs: number;
  /** How long an order may sit in an automatic state before the sweeper queues its work again. */
  readonly autoStuckAfterMs: number;
  /** A CREATED order nobody accepts within this is cancelled by the system. */
  readonly acceptTimeoutMs: number;
  /** A cancellation fee unpaid within this closes the order. */
  readonly paymentTimeoutMs: number;
  /** A payment that arrives before the fee is confirmed is held this long for the confirmation (the machine's late policy). */
  readonly paymentHoldMs: number;
  /** A held payment whose hold expires is given back (a refund in its late-event message). */
  readonly paymentHoldRefund: boolean;
  /** A fee above this (in cents) goes to FRAUD_REVIEW for an operator, on orders of the taxi machine's v2. */
  readonly fraudReviewAboveCents: number;
  /**
   * The operator console (GET /console): whether its sign-in cookie is `Secure` (`auto`: when the
   * sign-in came over HTTPS), how long a sign-in lasts, how often its pages poll.
   */
  readonly console: { readonly secureCookie: boolean | 'auto'; readonly sessionMaxAgeS: number; readonly pollMs: number };
}

function delays(env: NodeJS.ProcessEnv, name: string, fallback: readonly number[]): readonly number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1 || v > 86_400_000)) {
    throw new Error(`${name} must be a comma-separated list of delays in ms, not ${JSON.stringify(raw)}`);
  }
  return values;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, not ${JSON.stringify(raw)}`);
}

function autoFlag(env: NodeJS.ProcessEnv, name: string): boolean | 'auto' {
  const raw = env[name];
  return raw === undefined || raw === '' || /^auto$/i.test(raw) ? 'auto' : flag(env, name, false);
}

/** `a://`, `a:// or b://`, `a://, b:// or c://`. */
function schemeList(schemes: readonly string[]): string {
  const all = schemes.map((s) => `${s}://`);
  return all.length < 2 ? all.join('') : `${all.slice(0, -1).join(', ')} or ${all.at(-1)}`;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string, schemes: readonly string[]): string {
  const value = env[name] || fallback;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new Error(`${name} is not a URL: ${JSON.stringify(value)}`);
  }
  if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new Error(`${name} must start with ${schemeList(schemes)}, not ${parsed.protocol}//`);
  }
  return value;
}

/** The databases the service runs on, by the scheme of DATABASE_URL: MariaDB or MySQL, or PostgreSQL. */
export const DATABASE_SCHEMES = {
  mysql: 'mysql',
  mariadb: 'mysql',
  postgres: 'postgres',
  postgresql: 'postgres',
} as const;

export type DatabaseKind = (typeof DATABASE_SCHEMES)[keyof typeof DATABASE_SCHEMES];

/** Which database a DATABASE_URL names; an unknown scheme is refused, naming the ones accepted. */
export function databaseKindOf(databaseUrl: string): DatabaseKind {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(databaseUrl)?.[1]?.toLowerCase() ?? '';
  if (Object.hasOwn(DATABASE_SCHEMES, scheme)) return DATABASE_SCHEMES[scheme as keyof typeof DATABASE_SCHEMES];
  throw new Error(`DATABASE_URL must start with ${schemeList(Object.keys(DATABASE_SCHEMES))}, not ${scheme ? `${scheme}://` : JSON.stringify(databaseUrl)}`);
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function logLevel(env: NodeJS.ProcessEnv): LogLevel {
  const raw = env.LOG_LEVEL || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(raw)}`);
  return raw as LogLevel;
}

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

function logFormat(env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): LogFormat {
  const raw = env.LOG_FORMAT;
  if (raw === undefined || raw === '') return stdoutIsTTY && env.NODE_ENV !== 'production' ? 'pretty' : 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(raw)) throw new Error(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}, not ${JSON.stringify(raw)}`);
  return raw as LogFormat;
}

const EXTERNAL_URLS = ['DATABASE_URL', 'REDIS_URL', 'AMQP_URL'] as const;

function modeOf(env: NodeJS.ProcessEnv): ServiceConfig['mode'] {
  const set = EXTERNAL_URLS.filter((name) => env[name]);
  if (set.length === 0) return 'embedded';
  if (set.length < EXTERNAL_URLS.length) {
    const missing = EXTERNAL_URLS.filter((name) => !env[name]);
    throw new Error(`${set.join(' and ')} set but ${missing.join(' and ')} not: set all three to use real services, or none to run embedded`);
  }
  return 'external';
}

function callersOf(env: NodeJS.ProcessEnv, mode: ServiceConfig['mode']): Pick<ServiceConfig, 'callers' | 'callersGenerated'> {
  if (env.API_TOKENS) return { callers: parseApiTokens(env.API_TOKENS), callersGenerated: false };
  if (mode === 'embedded') return { callers: generateCallers(), callersGenerated: true };
  throw new Error(
    'API_TOKENS is not set: on real services the service needs its callers, as comma-separated name:role:token entries ' +
      '(roles client, payment, operator), e.g. API_TOKENS=app1:client:<secret>,pay:payment:<secret>,ops:operator:<secret>',
  );
}

function httpTimeouts(env: NodeJS.ProcessEnv): ServiceConfig['http'] {
  const requestTimeoutMs = integer(env, 'REQUEST_TIMEOUT_MS', 20_000, 100, 600_000);
  const headersTimeoutMs = integer(env, 'HEADERS_TIMEOUT_MS', Math.min(10_000, requestTimeoutMs), 100, 600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new Error(`HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not be longer than REQUEST_TIMEOUT_MS (${requestTimeoutMs}), which includes the headers`);
  }
  return { headersTimeoutMs, requestTimeoutMs, connectionTimeoutMs: integer(env, 'CONNECTION_TIMEOUT_MS', 90_000, 1_000, 3_600_000) };
}

/** What the taxi machine is built with, from the service's settings. */
export function taxiMachineOptionsOf(config: Pick<ServiceConfig, 'autoStuckAfterMs' | 'paymentHoldMs' | 'paymentHoldRefund'>): TaxiMachineOptions {
  return { autoStuckAfterMs: config.autoStuckAfterMs, paymentHoldMs: config.paymentHoldMs, paymentHoldRefund: config.paymentHoldRefund };
}

/**
 * The settings the taxi machine is built with, read from the environment alone: the CLI checks and
 * draws the machine an instance started there would run, without needing the service's other
 * settings (its database, its callers' tokens).
 */
export function taxiMachineSettings(env: NodeJS.ProcessEnv): Required<TaxiMachineOptions> {
  return {
    autoStuckAfterMs: integer(env, 'AUTO_STUCK_AFTER_MS', 60_000, 100, 86_400_000),
    paymentHoldMs: integer(env, 'PAYMENT_HOLD_MS', 600_000, 100, 86_400_000),
    paymentHoldRefund: flag(env, 'PAYMENT_HOLD_REFUND', true),
  };
}

/** `stdoutIsTTY` decides the default LOG_FORMAT (pretty on a terminal). */
export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env, stdoutIsTTY = process.stdout.isTTY === true): ServiceConfig {
  const mode = modeOf(env);
  return {
    mode,
    ...callersOf(env, mode),
    sqliteFile: env.SQLITE_FILE || undefined,
    port: integer(env, 'PORT', 3000, 0, 65535),
    logLevel: logLevel(env),
    logFormat: logFormat(env, stdoutIsTTY),
    tracing: tracingConfigOf(env),
    databaseUrl: url(env, 'DATABASE_URL', 'mysql://root@127.0.0.1:3306/test', Object.keys(DATABASE_SCHEMES)),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis', 'rediss']),
    amqpUrl: url(env, 'AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp', 'amqps']),
    runMigrations: flag(env, 'RUN_MIGRATIONS', true),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 16, 1, 1000),
    redisReadyTimeoutMs: integer(env, 'REDIS_READY_TIMEOUT_MS', 5000, 0, 600_000),
    lock: {
      enabled: flag(env, 'LOCK_ENABLED', true),
      ttlMs: integer(env, 'LOCK_TTL_MS', 10_000, 100, 600_000),
      waitMs: integer(env, 'LOCK_WAIT_MS', 2_000, 0, 600_000),
    },
    bodyLimitBytes: 64 * 1024,
    http: httpTimeouts(env),
    rateLimit: {
      max: integer(env, 'RATE_LIMIT_MAX', 3_000, 0, 1_000_000_000),
      windowMs: integer(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1_000, 86_400_000),
    },
    amqpPrefix: env.AMQP_PREFIX || 'order-fsm',
    relayEnabled: flag(env, 'RELAY_ENABLED', true),
    outboxRetentionMs: integer(env, 'OUTBOX_RETENTION_MS', 3_600_000, 1, 30 * 86_400_000),
    workerEnabled: flag(env, 'WORKER_ENABLED', true),
    workerRetryDelaysMs: delays(env, 'WORKER_RETRY_DELAYS_MS', [1_000, 5_000, 25_000]),
    workerPrefetch: integer(env, 'WORKER_PREFETCH', 8, 1, 1000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    timersEnabled: flag(env, 'TIMERS_ENABLED', true),
    timerPollMs: integer(env, 'TIMER_POLL_MS', 500, 10, 600_000),
    sweeperEnabled: flag(env, 'SWEEPER_ENABLED', true),
    sweeperIntervalMs: integer(env, 'SWEEPER_INTERVAL_MS', 5_000, 10, 3_600_000),
    acceptTimeoutMs: integer(env, 'ACCEPT_TIMEOUT_MS', 300_000, 100, 86_400_000),
    paymentTimeoutMs: integer(env, 'PAYMENT_TIMEOUT_MS', 1_800_000, 100, 86_400_000),
    ...taxiMachineSettings(env),
    fraudReviewAboveCents: integer(env, 'FRAUD_REVIEW_ABOVE_CENTS', 100_000, 0, 100_000_000),
    console: {
      secureCookie: autoFlag(env, 'CONSOLE_COOKIE_SECURE'),
      sessionMaxAgeS: integer(env, 'CONSOLE_SESSION_MAX_AGE_S', 8 * 3_600, 60, 30 * 86_400),
      pollMs: integer(env, 'CONSOLE_POLL_MS', 2_000, 250, 600_000),
    },
  };
}
