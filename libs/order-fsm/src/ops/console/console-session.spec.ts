import { describe, expect, it } from '@jest/globals';
import { ConsoleAssets } from './console-assets.js';
import {
  bearerToken,
  clearedSessionCookie,
  consoleToken,
  cookieApplies,
  crossSiteProblem,
  isConsolePage,
  isConsolePublic,
  sessionCookie,
  signInLocation,
} from './console-session.js';

describe("the console's sign-in cookie", () => {
  it('is HttpOnly and SameSite=Strict, Secure when asked, for the whole site path, and expires', () => {
    expect(sessionCookie('t0ken;with,odd=chars', { secure: false, maxAgeSeconds: 60 })).toBe(
      'order_fsm_console=t0ken%3Bwith%2Codd%3Dchars; Path=/; Max-Age=60; HttpOnly; SameSite=Strict',
    );
    expect(sessionCookie('t', { secure: true })).toMatch(/; Max-Age=28800; HttpOnly; SameSite=Strict; Secure$/);
    expect(clearedSessionCookie({ secure: false })).toMatch(/^order_fsm_console=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict$/);
  });

  it('stands for a token under /console and /ops, nowhere else', () => {
    const cookies = { order_fsm_console: 'tok' };
    expect(consoleToken('/console', cookies)).toBe('tok');
    expect(consoleToken('/ops/orders/o-1/force', cookies)).toBe('tok');
    expect(consoleToken('/orders/o-1', cookies)).toBeUndefined();
    expect(consoleToken('/orders/o-1/transitions', cookies)).toBeUndefined();
    expect(consoleToken('/orders/o-1/events', cookies)).toBeUndefined();
    expect(consoleToken('/orders', cookies)).toBeUndefined();
    expect(consoleToken('/metrics', cookies)).toBeUndefined();
    expect(consoleToken('/consoles', cookies)).toBeUndefined();
    expect(consoleToken('/opsx', cookies)).toBeUndefined();
    expect(consoleToken('/console', {})).toBeUndefined();
    expect(consoleToken('/console', { order_fsm_console: '' })).toBeUndefined();
    expect(cookieApplies('/ops')).toBe(true);
  });

  it('leaves the sign-in page, the static files and sign-out open, and only those', () => {
    expect(isConsolePublic('GET', '/console/sign-in')).toBe(true);
    expect(isConsolePublic('GET', '/console/assets/console.js')).toBe(true);
    expect(isConsolePublic('POST', '/console/sign-out')).toBe(true);
    expect(isConsolePublic('GET', '/console')).toBe(false);
    expect(isConsolePublic('POST', '/console/session')).toBe(false);
    expect(isConsolePublic('POST', '/console/assets/console.js')).toBe(false);
    expect(isConsolePublic('GET', '/console/machine')).toBe(false);
  });

  it('sends a browser without a sign-in from a console page to the sign-in page, and back to that page only', () => {
    expect(isConsolePage('GET', '/console')).toBe(true);
    expect(isConsolePage('GET', '/console/orders/o-1')).toBe(true);
    expect(isConsolePage('GET', '/console/machine')).toBe(false);
    expect(isConsolePage('POST', '/console')).toBe(false);
    expect(signInLocation('/console')).toBe('/console/sign-in');
    expect(signInLocation('/console/orders/o-1')).toBe('/console/sign-in?next=%2Fconsole%2Forders%2Fo-1');
    expect(signInLocation('/console/diagram.svg')).toBe('/console/sign-in');
    expect(signInLocation('//evil.example/console')).toBe('/console/sign-in');
  });

  it('reads the token of an Authorization header', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('a request signed in by the cookie, and the cross-site check', () => {
  const ok = { 'x-order-fsm-console': '1', host: 'ops.example:3000', origin: 'http://ops.example:3000', 'sec-fetch-site': 'same-origin' };

  it('lets reads through', () => {
    expect(crossSiteProblem({ method: 'GET', headers: {} })).toBeUndefined();
    expect(crossSiteProblem({ method: 'HEAD', headers: { origin: 'https://evil.example' } })).toBeUndefined();
  });

  it("lets a change through from the console's own page", () => {
    expect(crossSiteProblem({ method: 'POST', headers: ok })).toBeUndefined();
    // Browsers that send neither Origin nor Sec-Fetch-Site still had to add the header.
    expect(crossSiteProblem({ method: 'POST', headers: { 'x-order-fsm-console': '1', host: 'h' } })).toBeUndefined();
  });

  it.each([
    ['without the header (an HTML form of any page)', { ...ok, 'x-order-fsm-console': undefined }],
    ['with the header set to something else', { ...ok, 'x-order-fsm-console': 'yes' }],
    ['from another site', { ...ok, 'sec-fetch-site': 'cross-site' }],
    ['from the same site on another port or subdomain', { ...ok, 'sec-fetch-site': 'same-site' }],
    ['from another origin, by Origin', { ...ok, 'sec-fetch-site': undefined, origin: 'http://ops.example:4000' }],
    ['from an opaque origin', { ...ok, 'sec-fetch-site': undefined, origin: 'null' }],
    ['with an Origin that is no URL', { ...ok, 'sec-fetch-site': undefined, origin: 'garbage' }],
  ])('refuses a change %s', (_name, headers) => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(crossSiteProblem({ method, headers })).toEqual(expect.any(String));
  });
});

describe("the console's files", () => {
  const assets = new ConsoleAssets();

  it('are read once, each with its type and a validator; a name with a path names nothing', () => {
    expect(assets.names()).toEqual(expect.arrayContaining(['console.html', 'sign-in.html', 'console.js', 'console.css', 'api.js']));
    expect(assets.get('console.js')).toMatchObject({ type: 'text/javascript; charset=utf-8', etag: expect.stringMatching(/^"[\w-]{27}"$/) });
    expect(assets.get('../console.controller.ts')).toBeUndefined();
    expect(assets.get('.hidden.js')).toBeUndefined();
    expect(assets.get('CONSOLE.JS')).toBeUndefined();
  });

  it('hold no inline script and load nothing from another origin', () => {
    for (const name of assets.names()) {
      const text = assets.get(name)!.body.toString('utf8');
      if (name.endsWith('.html')) {
        for (const [, attributes, body] of text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
          expect({ name, attributes, body }).toEqual({ name, attributes: expect.stringMatching(/ src="\/console\/assets\/[a-z-]+\.js"/), body: '' });
        }
        expect({ name, handlers: text.match(/\son[a-z]+=/g) }).toEqual({ name, handlers: null });
      }
      expect({ name, remote: text.match(/(?:src|href)=["']?(?:https?:)?\/\//g) ?? text.match(/\bfrom\s+['"]https?:/g) ?? text.match(/@import/g) }).toEqual({ name, remote: null });
    }
  });

  it('refuse to start without the folder', () => {
    expect(() => new ConsoleAssets('/nonexistent/console-assets')).toThrow(/operator console's files are not in/);
  });
});
