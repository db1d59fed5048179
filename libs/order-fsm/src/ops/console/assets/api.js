// Talking to the service: the console's own routes and the operator API under /ops. The browser
// sends the sign-in cookie by itself (same origin only); every request also carries the console's
// header, without which the service refuses a state-changing request signed in by the cookie.

export const CONSOLE_HEADERS = Object.freeze({ 'X-Order-Fsm-Console': '1' });

/** Where the sign-in page may send the operator back to: a console page of this origin, nothing else. */
export function safeNext(next) {
  return typeof next === 'string' && /^\/console(\/[A-Za-z0-9._~%/-]*)?$/.test(next) && !next.includes('//') ? next : '/console';
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `the service answered ${status}`);
    this.status = status;
    this.code = body?.code ?? `HTTP_${status}`;
    this.details = body?.details;
  }
}

/** Sends the operator back to the sign-in page, to come back here. */
export function signInAgain() {
  const next = location.pathname + location.search;
  location.assign(`/console/sign-in${next === '/console' ? '' : `?next=${encodeURIComponent(next)}`}`);
}

/**
 * One request: JSON in, JSON (or text) out. A 401 means the sign-in is gone (signed out elsewhere,
 * expired, the token rotated): back to the sign-in page. Any other failure is an ApiError.
 */
export async function api(path, { method = 'GET', body, query, text = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
  const headers = { ...CONSOLE_HEADERS, Accept: text ? '*/*' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) {
    signInAgain();
    throw new ApiError(401, { code: 'UNAUTHENTICATED', message: 'signed out' });
  }
  if (response.status === 204) return undefined;
  const type = response.headers.get('content-type') ?? '';
  const payload = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, typeof payload === 'object' ? payload : { message: String(payload).slice(0, 200) });
  return payload;
}

export const signOut = () => api('/console/sign-out', { method: 'POST' });

// The operator API (under /ops): each view goes through these, so the paths live in one place.
const id = (value) => encodeURIComponent(value);
export const ops = {
  order: (orderId) => api(`/ops/orders/${id(orderId)}`),
  orders: (query) => api('/ops/orders', { query }),
  counts: (query) => api('/ops/counts', { query }),
  deadLetters: (query) => api('/ops/dead-letters', { query }),
  stuck: (query) => api('/ops/stuck', { query }),
  force: (orderId, body) => api(`/ops/orders/${id(orderId)}/force`, { method: 'POST', body }),
  pause: (orderId, body) => api(`/ops/orders/${id(orderId)}/pause`, { method: 'POST', body }),
  resume: (orderId, body) => api(`/ops/orders/${id(orderId)}/resume`, { method: 'POST', body }),
  event: (orderId, body) => api(`/ops/orders/${id(orderId)}/events`, { method: 'POST', body }),
  redrive: (letterId, body) => api(`/ops/dead-letters/${id(letterId)}/redrive`, { method: 'POST', body }),
  discard: (letterId, body) => api(`/ops/dead-letters/${id(letterId)}/discard`, { method: 'POST', body }),
  bulk: (action, body) => api(`/ops/bulk/${id(action)}`, { method: 'POST', body }),
};

// What the console serves itself: the machine, its diagram, the outbox's backlog.
export const machine = (scope) => api('/console/machine', { query: scope });
export const diagramSvg = (scope) => api('/console/diagram.svg', { query: scope, text: true });
export const outbox = () => api('/console/outbox');
