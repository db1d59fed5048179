import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Caller } from '@order-fsm/core';

/** The roles of the taxi service's callers. The machine's `sentBy` names them (and `system`). */
export const ROLES = ['client', 'payment', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export interface CallerEntry extends Caller {
  readonly role: Role;
  readonly token: string;
}

/** A caller's name: what its request ids are scoped by and what the log names; never `@system`. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** What a bearer token can carry in a header: visible ASCII, no spaces. */
const TOKEN = /^[\x21-\x7e]+$/;
/** Short tokens can be guessed: every wrong guess is rate limited, but not every guess is wrong. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Reads `API_TOKENS`: comma-separated `name:role:token` entries, e.g.
 * `app1:client:<16+ characters>,pay:payment:<...>,ops:operator:<...>`. Names and tokens are unique.
 * An error names the entry by its position and name, never by its token.
 */
export function parseApiTokens(raw: string): CallerEntry[] {
  const entries: CallerEntry[] = [];
  for (const [index, item] of raw.split(',').entries()) {
    const text = item.trim();
    if (text === '') continue;
    const [name, role, ...rest] = text.split(':');
    const token = rest.join(':');
    const where = `API_TOKENS entry ${index + 1}`;
    if (!name || role === undefined || !token) throw new Error(`${where} must be name:role:token (the token after the second colon)`);
    if (!NAME.test(name)) throw new Error(`${where}: the name ${JSON.stringify(name)} must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    if (!(ROLES as readonly string[]).includes(role)) throw new Error(`${where} (${name}): the role must be one of ${ROLES.join(', ')}, not ${JSON.stringify(role)}`);
    if (!TOKEN.test(token)) throw new Error(`${where} (${name}): a token is visible ASCII characters, without spaces`);
    if (token.length < MIN_TOKEN_LENGTH) throw new Error(`${where} (${name}): the token must be at least ${MIN_TOKEN_LENGTH} characters`);
    if (entries.some((e) => e.name === name)) throw new Error(`${where}: the name ${name} is used twice`);
    if (entries.some((e) => e.token === token)) throw new Error(`${where} (${name}): its token is another caller's too`);
    entries.push({ name, role: role as Role, token });
  }
  if (entries.length === 0) throw new Error('API_TOKENS names no caller: set comma-separated name:role:token entries');
  return entries;
}

/** One caller per role with a fresh random token: the embedded first run, when API_TOKENS is unset. */
export function generateCallers(): CallerEntry[] {
  return ROLES.map((role) => ({ name: `local-${role}`, role, token: randomBytes(24).toString('base64url') }));
}

/** One call, no Hash object: this runs for every request (createHash, update and digest cost it about 2% of its CPU). */
const digest = (text: string): Buffer => hash('sha256', text, 'buffer');

/**
 * Who a bearer token belongs to. Tokens are compared as SHA-256 digests with timingSafeEqual, every
 * entry every time: how long an answer takes says nothing of how much of a token was right, nor of
 * which caller's it nearly was.
 */
export class CallerDirectory {
  private readonly entries: ReadonlyArray<{ caller: Caller & { role: Role }; digest: Buffer }>;

  constructor(callers: readonly CallerEntry[]) {
    this.entries = callers.map(({ name, role, token }) => ({ caller: Object.freeze({ name, role }), digest: digest(token) }));
  }

  /** The caller of an `Authorization` header, or undefined when it names none the service knows. */
  authenticate(authorization: string | undefined): (Caller & { role: Role }) | undefined {
    const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization ?? '');
    return match ? this.authenticateToken(match[1]) : undefined;
  }

  /** The caller of a token (the operator console's cookie holds one), or undefined when it names none the service knows. */
  authenticateToken(token: string): (Caller & { role: Role }) | undefined {
    if (!TOKEN.test(token)) return undefined;
    const presented = digest(token);
    let found: (Caller & { role: Role }) | undefined;
    for (const entry of this.entries) if (timingSafeEqual(entry.digest, presented) && !found) found = entry.caller;
    return found;
  }
}
