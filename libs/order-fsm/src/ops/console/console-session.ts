/**
 * The operator console's sign-in: the operator's own API token, kept in a cookie the page's scripts
 * cannot read (HttpOnly), that no other site's page sends (SameSite=Strict), and that travels over
 * HTTPS only when the service is reached over HTTPS (Secure). It is never put in a URL nor in the
 * browser's storage. The host service's authentication reads it (`consoleToken`) where the console
 * needs it, under `/console` and `/ops`, and refuses a state-changing request it authenticates unless
 * that request shows it came from the console's own pages (`crossSiteProblem`).
 *
 * Nothing here knows the host's callers: the host decides who a token belongs to and which roles may
 * use the console (the taxi service: the `operator` role, as for `/ops`).
 */

/** The cookie's name. */
export const CONSOLE_COOKIE = 'order_fsm_console';

/**
 * The header every state-changing request of the console's pages carries. A page of another origin
 * cannot send it without a CORS preflight, which the service never grants; an HTML form cannot send
 * it at all.
 */
export const CONSOLE_REQUEST_HEADER = 'x-order-fsm-console';
export const CONSOLE_REQUEST_HEADER_VALUE = '1';

/** How long a sign-in lasts unless the host says otherwise: a shift. */
export const CONSOLE_SESSION_MAX_AGE_S = 8 * 60 * 60;

/** Where the console lives, and the operator API its pages call: the only paths the cookie stands for a token on. */
export const CONSOLE_PATH = '/console';
export const CONSOLE_COOKIE_PATHS: readonly string[] = [CONSOLE_PATH, '/ops'];

const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);

/** The path of a request URL, without its query. */
export const pathOf = (url: string): string => url.split('?', 1)[0];

/** True where the console's cookie counts as credentials: under /console and /ops, nowhere else. */
export function cookieApplies(path: string): boolean {
  return CONSOLE_COOKIE_PATHS.some((prefix) => under(path, prefix));
}

/**
 * The console's routes that need no credentials: the sign-in page, the static files (scripts and
 * styles, the same for everybody, holding no data) and sign-out (which only clears the cookie).
 */
export function isConsolePublic(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD') return path === `${CONSOLE_PATH}/sign-in` || path.startsWith(`${CONSOLE_PATH}/assets/`);
  return method === 'POST' && path === `${CONSOLE_PATH}/sign-out`;
}

/** The console's pages: where a browser without a sign-in is sent to the sign-in page rather than answered 401. */
export function isConsolePage(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && (path === CONSOLE_PATH || path === `${CONSOLE_PATH}/` || path === `${CONSOLE_PATH}/bulk` || /^\/console\/orders\/[^/]+$/.test(path));
}

/** Where the sign-in page is; it comes back to `returnTo` (a console page) once signed in. */
export function signInLocation(returnTo?: string): string {
  const back = returnTo && isConsolePage('GET', pathOf(returnTo)) && returnTo !== CONSOLE_PATH ? `?next=${encodeURIComponent(returnTo)}` : '';
  return `${CONSOLE_PATH}/sign-in${back}`;
}

type Headers = Record<string, string | string[] | undefined>;
const one = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** The token in the console's cookie, from the request's parsed cookies; undefined where the cookie does not apply. */
export function consoleToken(path: string, cookies: Record<string, string | undefined> | undefined): string | undefined {
  if (!cookieApplies(path)) return undefined;
  const token = cookies?.[CONSOLE_COOKIE];
  return token ? token : undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a request authenticated by the console's cookie may have been sent by another site's page,
 * or undefined when it shows it was not. Reads never change anything and pass. A state-changing
 * request must carry the console's header (CONSOLE_REQUEST_HEADER); and where the browser says
 * where it comes from, it must come from this very origin: `Sec-Fetch-Site: same-origin`, and an
 * `Origin` whose host is the request's `Host`. SameSite=Strict already keeps the cookie off other
 * sites' requests; this also stops pages of the same site on another port or subdomain, which
 * SameSite lets through.
 */
export function crossSiteProblem(request: { method: string; headers: Headers }): string | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined;
  const { headers } = request;
  if (one(headers[CONSOLE_REQUEST_HEADER]) !== CONSOLE_REQUEST_HEADER_VALUE) {
    return `a request that changes something and is signed in by the console's cookie must carry ${CONSOLE_REQUEST_HEADER}: ${CONSOLE_REQUEST_HEADER_VALUE}`;
  }
  const site = one(headers['sec-fetch-site']);
  if (site !== undefined && site !== 'same-origin') return `the request came from another origin (Sec-Fetch-Site: ${site})`;
  const origin = one(headers.origin);
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      host = origin === 'null' ? undefined : new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host === undefined || host !== one(headers.host)) return `the request came from another origin (Origin: ${origin})`;
  }
  return undefined;
}

export interface SessionCookieOptions {
  /** Send the cookie over HTTPS only: true when the request that signs in came over HTTPS. */
  readonly secure: boolean;
  /** Seconds until the browser forgets it; CONSOLE_SESSION_MAX_AGE_S unless said. */
  readonly maxAgeSeconds?: number;
}

/** The `Set-Cookie` value that signs the browser in with `token`. */
export function sessionCookie(token: string, { secure, maxAgeSeconds = CONSOLE_SESSION_MAX_AGE_S }: SessionCookieOptions): string {
  // Path=/ so that it reaches /console and /ops; the host accepts it on those paths only.
  return [`${CONSOLE_COOKIE}=${encodeURIComponent(token)}`, 'Path=/', `Max-Age=${Math.floor(maxAgeSeconds)}`, 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])].join('; ');
}

/** The `Set-Cookie` value that signs the browser out: the same cookie, empty and already expired. */
export function clearedSessionCookie({ secure }: Pick<SessionCookieOptions, 'secure'>): string {
  return [`${CONSOLE_COOKIE}=`, 'Path=/', 'Max-Age=0', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])].join('; ');
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization ?? '');
  return match?.[1];
}
