import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { OrderFsmDiagrams } from '../../diagram/order-fsm-diagrams.js';
import type { MachineDiagram } from '../../diagram/machine-diagram.js';
import { OrderFsmError, ValidationFailedError } from '../../errors/order-fsm.errors.js';
import { ORDER_FSM_OPTIONS, ORDER_STORE } from '../../order-fsm.constants.js';
import type { ResolvedOrderFsmOptions } from '../../order-fsm.options.js';
import { objectOf } from '../ops-input.js';
import type { OrderStore } from '../../ports/order-store.js';
import { ConsoleAssets, type ConsoleAsset } from './console-assets.js';
import { bearerToken, clearedSessionCookie, CONSOLE_REQUEST_HEADER, CONSOLE_REQUEST_HEADER_VALUE, sessionCookie } from './console-session.js';

/** How the console behaves; every field has a default. */
export interface OrderFsmConsoleOptions {
  /**
   * Whether the sign-in cookie is `Secure` (sent over HTTPS only). `auto` (the default): when the
   * sign-in request came over HTTPS, as the HTTP server sees it (behind a proxy that ends TLS, trust
   * the proxy so that it does, or say `true`).
   */
  readonly secureCookie?: boolean | 'auto';
  /** How long a sign-in lasts, in seconds: CONSOLE_SESSION_MAX_AGE_S (8 hours) unless said. */
  readonly sessionMaxAgeSeconds?: number;
  /** How often the pages ask for fresh counts and lists, in milliseconds (2,000 unless said). */
  readonly pollIntervalMs?: number;
}

export const ORDER_FSM_CONSOLE_OPTIONS = Symbol('ORDER_FSM_CONSOLE_OPTIONS');

/** What the controllers use of a request and a reply; Fastify's and Express's both have it. */
interface HttpRequest {
  readonly method: string;
  readonly protocol?: string;
  readonly headers: Record<string, string | string[] | undefined>;
}
interface HttpReply {
  header(name: string, value: string): unknown;
  status?(code: number): unknown;
  code?(code: number): unknown;
}

const setStatus = (reply: HttpReply, code: number) => (reply.code ? reply.code(code) : reply.status?.(code));

/** Names of a bizCode or a sceneId, as the diagram takes them. */
const DIMENSION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The scope a query names: `bizCode` and `sceneId`, nothing else (VALIDATION_FAILED names a key it
 * does not take), each one the engine's `dimensions` declare when it declares any.
 */
function scopeOf(query: Record<string, unknown>, dimensions: ResolvedOrderFsmOptions['dimensions']): { bizCode?: string; sceneId?: string } {
  const record = objectOf({ ...query }, 'the query', ['bizCode', 'sceneId']);
  const scope: { bizCode?: string; sceneId?: string } = {};
  for (const key of ['bizCode', 'sceneId'] as const) {
    const value = record[key];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string' || !DIMENSION.test(value)) throw new ValidationFailedError(`${key} must be 1 to 64 letters, digits, '_', '.' or '-'`, { field: key });
    const known = key === 'bizCode' ? dimensions.bizCodes : dimensions.sceneIds;
    if (known.length > 0 && !known.includes(value)) throw new ValidationFailedError(`${key} must be one of ${known.join(', ')}`, { field: key, allowed: [...known] });
    scope[key] = value;
  }
  return scope;
}

function secureOf(options: OrderFsmConsoleOptions, request: HttpRequest): boolean {
  const setting = options.secureCookie ?? 'auto';
  return setting === 'auto' ? request.protocol === 'https' : setting;
}

function send(reply: HttpReply, request: HttpRequest, asset: ConsoleAsset, body: Buffer | string = asset.body): Buffer | string {
  reply.header('content-type', asset.type);
  // Always asked again, answered 304 while unchanged: a new version of the service shows at once.
  reply.header('cache-control', 'no-cache');
  reply.header('etag', asset.etag);
  const match = request.headers['if-none-match'];
  if (match === asset.etag) {
    setStatus(reply, 304);
    return '';
  }
  return body;
}

/**
 * What the console shows without a sign-in: its sign-in page and its static files, which are the
 * same for everybody and hold no data; and sign-out, which only clears the cookie.
 */
@Controller('console')
export class ConsolePublicController {
  constructor(private readonly assets: ConsoleAssets, @Inject(ORDER_FSM_CONSOLE_OPTIONS) private readonly options: OrderFsmConsoleOptions) {}

  @Get('sign-in')
  signIn(@Req() request: HttpRequest, @Res({ passthrough: true }) reply: HttpReply) {
    return send(reply, request, this.assets.get('sign-in.html')!);
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Req() request: HttpRequest, @Res({ passthrough: true }) reply: HttpReply) {
    const asset = this.assets.get(name);
    if (!asset || asset.name.endsWith('.html')) throw new OrderFsmError('NOT_FOUND', `the console has no file ${name}`);
    return send(reply, request, asset);
  }

  /** Clears the cookie. It needs no sign-in, but does need the console's header: no other site signs an operator out. */
  @Post('sign-out')
  @HttpCode(204)
  signOut(@Req() request: HttpRequest, @Res({ passthrough: true }) reply: HttpReply): void {
    if (request.headers[CONSOLE_REQUEST_HEADER] !== CONSOLE_REQUEST_HEADER_VALUE) {
      throw new OrderFsmError('FORBIDDEN', `sign out from the console: its requests carry ${CONSOLE_REQUEST_HEADER}: ${CONSOLE_REQUEST_HEADER_VALUE}`, { reason: 'CROSS_SITE' });
    }
    reply.header('set-cookie', clearedSessionCookie({ secure: secureOf(this.options, request) }));
    reply.header('cache-control', 'no-store');
  }
}

/**
 * The console's pages and what they read that is the console's own (the machine, its diagram, the
 * outbox's backlog); orders, counts and actions come from the operator API under /ops. The host restricts these
 * routes to its operators (the taxi service: `Roles('operator')`), as it does /ops.
 */
@Controller('console')
export class ConsoleController {
  private readonly shell: string;

  constructor(
    private readonly assets: ConsoleAssets,
    private readonly diagrams: OrderFsmDiagrams,
    @Inject(ORDER_STORE) private readonly store: OrderStore,
    @Inject(ORDER_FSM_CONSOLE_OPTIONS) private readonly options: OrderFsmConsoleOptions,
    @Inject(ORDER_FSM_OPTIONS) private readonly fsm: ResolvedOrderFsmOptions,
  ) {
    this.shell = assets.get('console.html')!.body.toString('utf8').replace('data-poll-ms="2000"', `data-poll-ms="${Math.max(250, Math.floor(options.pollIntervalMs ?? 2_000))}"`);
  }

  /** One page for every view (the fleet, an order, bulk actions): the scripts draw the view the path names. */
  @Get()
  fleet(@Req() request: HttpRequest, @Res({ passthrough: true }) reply: HttpReply) {
    return this.page(request, reply);
  }

  @Get('orders/:orderId')
  order(@Req() request: HttpRequest, @Res({ passthrough: true }) reply: HttpReply) {
    return this.page(request, reply);
  }

  @Get('bulk')
  bulk(@Req() request: HttpRequest, @Res({ passthrough: true }) reply: HttpReply) {
    return this.page(request, reply);
  }

  /**
   * Signs the browser in: the request carries the operator's token in `Authorization: Bearer`
   * (the host has checked it, and the role), and the answer puts that token in the HttpOnly cookie.
   */
  @Post('session')
  @HttpCode(204)
  signIn(@Req() request: HttpRequest, @Res({ passthrough: true }) reply: HttpReply): void {
    const header = request.headers.authorization;
    const token = bearerToken(Array.isArray(header) ? header[0] : header);
    if (!token) throw new ValidationFailedError('sign in with the token in Authorization: Bearer <token>');
    reply.header('set-cookie', sessionCookie(token, { secure: secureOf(this.options, request), maxAgeSeconds: this.options.sessionMaxAgeSeconds }));
    reply.header('cache-control', 'no-store');
  }

  /** The machine's diagram, as SVG, whole or for one bizCode@sceneId: the fleet view draws counts on it. */
  @Get('diagram.svg')
  async diagram(@Query() query: Record<string, unknown>, @Res({ passthrough: true }) reply: HttpReply): Promise<string> {
    const svg = await this.diagrams.render('svg', scopeOf(query, this.fsm.dimensions));
    reply.header('content-type', 'image/svg+xml; charset=utf-8');
    reply.header('cache-control', 'no-cache');
    return svg;
  }

  /** The machine's states and transitions, whole or for one bizCode@sceneId: what the action forms offer. */
  @Get('machine')
  machine(@Query() query: Record<string, unknown>): MachineDiagram {
    return this.diagrams.describe(scopeOf(query, this.fsm.dimensions));
  }

  /** The outbox's backlog: how many status messages wait to be published, and since when the oldest. */
  @Get('outbox')
  async outbox() {
    const { count, oldestCreatedAt } = await this.store.outboxBacklog();
    return { backlog: count, oldestAt: oldestCreatedAt ? oldestCreatedAt.toISOString() : null };
  }

  private page(request: HttpRequest, reply: HttpReply) {
    const asset = this.assets.get('console.html')!;
    return send(reply, request, asset, this.shell);
  }
}
