import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Caller, ForbiddenError, OrderFsmError, toErrorBody, UnauthenticatedError } from '@order-fsm/core';
import { CONSOLE_COOKIE, consoleToken, crossSiteProblem, isConsolePage, isConsolePublic, pathOf, signInLocation } from '@order-fsm/core/ops';
import type { FastifyRequest } from 'fastify';
import type { CallerDirectory, Role } from './callers.js';

export type AuthenticatedCaller = Caller & { readonly role: Role };

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request: set before any route runs, for every request but the liveness probe. */
    caller?: AuthenticatedCaller;
    /** How the caller was known: its `Authorization` header, or the operator console's cookie. */
    credentials?: 'header' | 'cookie';
  }
}

/** The one route open without a token: a bare liveness answer, nothing about the dependencies. */
const OPEN = new Set(['GET /health', 'HEAD /health']);

/**
 * Every request but the liveness probe and the operator console's public files carries
 * `Authorization: Bearer <token>` of a known caller, or is answered 401 UNAUTHENTICATED before its
 * body is read and before any route (the API, /metrics, /docs) runs. Under /console and /ops the
 * console's sign-in cookie stands for the header (a browser cannot add a header to a page it
 * navigates to); a request signed in that way that would change something must show it comes from
 * the console's own pages, or is answered 403 FORBIDDEN (`crossSiteProblem`). A browser that opens a
 * console page without a sign-in is sent to the sign-in page. The caller is kept on the request (and
 * on the raw request, for the request log line).
 */
export function installAuthentication(app: NestFastifyApplication, directory: CallerDirectory): void {
  app
    .getHttpAdapter()
    .getInstance()
    // preParsing: after every onRequest hook, the rate limit's included (it is a route's hook, and those
    // run after the instance's), so a wrong token is counted before it is refused; before the body is read.
    .addHook('preParsing', async (request, reply) => {
      const path = pathOf(request.url);
      if (OPEN.has(`${request.method} ${path}`) || isConsolePublic(request.method, path)) return;
      if (!identify(request, directory)) {
        if (isConsolePage(request.method, path) && !request.headers.authorization) {
          return reply.code(303).header('Location', signInLocation(request.url)).header('Cache-Control', 'no-store').send();
        }
        const body = toErrorBody(new UnauthenticatedError());
        return reply.code(body.statusCode).header('WWW-Authenticate', 'Bearer').send(body);
      }
      if (request.credentials === 'cookie') {
        const problem = crossSiteProblem(request);
        if (problem) {
          const body = toErrorBody(new OrderFsmError('FORBIDDEN', problem, { reason: 'CROSS_SITE' }));
          return reply.code(body.statusCode).send(body);
        }
      }
    });
}

const IDENTIFIED = Symbol('order-service:identified');

/** The machine's diagram: its HTML viewer (and the viewer's scripts) is a page an operator opens in a browser. */
const DIAGRAM_PATH = '/fsm/diagram';

/**
 * The console's cookie, where it stands for the operator's token: under /console and /ops (the
 * library's rule), and for reads of the diagram and its viewer's scripts, so that a signed-in
 * operator's browser can open `GET /fsm/diagram?format=html`. Reads only: nothing else under /fsm.
 */
function cookieToken(request: FastifyRequest): string | undefined {
  const path = pathOf(request.url);
  const token = consoleToken(path, request.cookies);
  if (token !== undefined) return token;
  const read = request.method === 'GET' || request.method === 'HEAD';
  if (!read || (path !== DIAGRAM_PATH && !path.startsWith(`${DIAGRAM_PATH}/assets/`))) return undefined;
  return request.cookies?.[CONSOLE_COOKIE] || undefined;
}

/**
 * The request's caller, from its Authorization header (or, without one, from the console's cookie
 * where it applies: cookieToken), looked up once per request (the rate limit asks before the
 * authentication hook does) and kept on the request, and on the raw request for the request log line.
 */
export function identify(request: FastifyRequest, directory: CallerDirectory): AuthenticatedCaller | undefined {
  const marked = request as FastifyRequest & { [IDENTIFIED]?: true };
  if (marked[IDENTIFIED]) return request.caller;
  marked[IDENTIFIED] = true;
  const { authorization } = request.headers;
  const cookie = authorization === undefined ? cookieToken(request) : undefined;
  const caller = cookie === undefined ? directory.authenticate(authorization) : directory.authenticateToken(cookie);
  if (caller) {
    request.caller = caller;
    request.credentials = cookie === undefined ? 'header' : 'cookie';
    (request.raw as { caller?: AuthenticatedCaller }).caller = caller;
  }
  return caller;
}

const ROLES_KEY = 'order-service:roles';

/** The roles that may use an endpoint (or every endpoint of a controller); without it, any caller may. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** Answers FORBIDDEN (403) to a caller whose role an endpoint's @Roles() does not name. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!roles) return true;
    const caller = context.switchToHttp().getRequest<FastifyRequest>().caller;
    if (!caller) throw new UnauthenticatedError();
    if (!roles.includes(caller.role)) throw new ForbiddenError(caller.role, roles);
    return true;
  }
}

/** The caller of the request, as the authentication hook found it. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): AuthenticatedCaller => {
  const caller = context.switchToHttp().getRequest<FastifyRequest>().caller;
  if (!caller) throw new UnauthenticatedError();
  return caller;
});
