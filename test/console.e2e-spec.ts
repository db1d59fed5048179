import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CompanyAccounts } from '../apps/order-service/src/taxi/company-accounts.js';
import { deleteTopology, uniquePrefix } from './support/broker.js';
import { bearer, callerName } from './support/callers.js';
import { launchChromium, pageErrors, screenshot } from './support/browser.js';
import { advance, createOrder, TO_FEE_CONFIRMED, uid } from './support/taxi-client.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const tokenOf = (who: 'client' | 'operator') => bearer(who).slice('Bearer '.length);

/**
 * The operator console in Debian's headless Chromium, against the taxi service on the real MariaDB
 * and Redis: signing in, the fleet on the machine's diagram, an order's timeline after a ride driven
 * over REST, and pages of other origins refused.
 */
describe('the operator console, in a browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    t = await startTestApp({ relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false, console: { secureCookie: 'auto', sessionMaxAgeS: 3_600, pollMs: 500 } });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    errors = pageErrors(page);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('sends a browser without a sign-in to the sign-in page, which refuses a client token', async () => {
    await page.goto(`${base}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    await page.fill('#token', tokenOf('client'));
    await page.click('#sign-in button');
    await page.locator('#sign-in-error').getByText('not an operator').waitFor();
    expect(await context.cookies()).toEqual([]);
    await screenshot(page, 'sign-in');
  });

  it('signs an operator in: the token goes into an HttpOnly, SameSite=Strict cookie, never into the URL or storage', async () => {
    await page.fill('#token', tokenOf('operator'));
    await page.click('#sign-in button');
    await page.waitForURL(`${base}/console`);
    const cookies = await context.cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: 'order_fsm_console', httpOnly: true, sameSite: 'Strict', secure: false, path: '/' })]);
    expect(decodeURIComponent(cookies[0].value)).toBe(tokenOf('operator'));
    expect(await page.evaluate('[document.cookie, localStorage.length, sessionStorage.length]')).toEqual(['', 0, 0]);
    expect(page.url()).not.toContain(tokenOf('operator'));
  });

  it('draws the machine: every state of the diagram, whole or for one bizCode@sceneId', async () => {
    await page.locator('#diagram svg g.node').first().waitFor();
    // INIT, v1's ten states and v2's FRAUD_REVIEW.
    expect(await page.locator('#diagram svg g.node').count()).toBe(12);
    await page.fill('#fleet-filter input[name=bizCode]', 'EXPRESS');
    await page.fill('#fleet-filter input[name=sceneId]', 'ENTERPRISE');
    await page.click('#fleet-filter button[type=submit]');
    await page.waitForURL(`${base}/console?bizCode=EXPRESS&sceneId=ENTERPRISE`);
    await page.getByRole('heading', { name: 'The fleet: EXPRESS@ENTERPRISE' }).waitFor();
    await page.locator('#diagram svg g.node').first().waitFor();
    expect(await page.locator('#diagram svg').getAttribute('aria-label')).toBe('The fleet: EXPRESS@ENTERPRISE');
    // A bizCode the service does not have: the refusal is said where the diagram would be; the rest of the fleet is shown.
    await page.fill('#fleet-filter input[name=bizCode]', 'NOPE');
    await page.click('#fleet-filter button[type=submit]');
    await page.waitForURL(`${base}/console?bizCode=NOPE&sceneId=ENTERPRISE`);
    await page.locator('#diagram').getByText('bizCode must be one of EXPRESS, TAXI, PREMIUM').waitFor();
    await page.locator('#outbox-backlog').waitFor();
    expect(await page.locator('#diagram svg').count()).toBe(0);
  });

  it('finds an order by its id and shows its timeline, after a ride driven over REST', async () => {
    const orderId = await createOrder(t);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    await advance(t, orderId, 'ARRIVE');
    await advance(t, orderId, 'START_TRIP');
    await page.fill('#search-id', orderId);
    await page.press('#search-id', 'Enter');
    await page.waitForURL(`${base}/console/orders/${orderId}`);
    await page.locator('#timeline li.transition').nth(3).waitFor();
    expect(await page.locator('#order-state').textContent()).toBe('IN_TRIP');
    const rows = await page.locator('#timeline li.transition').allTextContents();
    expect(rows.map((row) => /^\S+ \S+(CREATE|ACCEPT|ARRIVE|START_TRIP)/.exec(row)?.[1])).toEqual(['CREATE', 'ACCEPT', 'ARRIVE', 'START_TRIP']);
    expect(rows[1]).toContain(callerName('client'));

    // It moves on while the page is open: read again, it shows the new transition.
    await advance(t, orderId, 'END_TRIP', { distanceKm: 10 });
    await page.reload();
    await page.locator('#timeline li.transition').nth(4).waitFor();
    expect(await page.locator('#order-state').textContent()).toBe('TRIP_ENDED');
  });

  it("refuses a state-changing request from another origin's page: another site gets no cookie, the same site on another port no pass", async () => {
    // The attacker's pages: a form that posts to the console, on another port of the same host
    // (same site: SameSite lets the cookie through) and on localhost (another site: it does not).
    const attacker: Server = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<form method="post" action="${base}/console/session" enctype="text/plain"><input name="x" value="y"><button>go</button></form>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const { port } = attacker.address() as AddressInfo;
    try {
      const evil = await context.newPage();
      for (const [origin, status] of [
        [`http://127.0.0.1:${port}`, 403],
        [`http://localhost:${port}`, 401],
      ] as const) {
        await evil.goto(`${origin}/`);
        const [response] = await Promise.all([evil.waitForResponse(`${base}/console/session`), evil.click('button')]);
        expect({ origin, status: response.status() }).toEqual({ origin, status });
        if (status === 403) expect(await response.json()).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'CROSS_SITE' } });
      }
      await evil.close();
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
    }
  });

  it('signs out: the cookie is gone and the console asks for a sign-in again', async () => {
    await page.goto(`${base}/console`);
    await page.click('#sign-out');
    await page.waitForURL(`${base}/console/sign-in`);
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${base}/console/orders/${uid('o')}`);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
  });

  it('ran without a script error or a Content-Security-Policy violation', () => {
    // Answers of 4xx (the refused sign-in, the operator API not yet there) are the browser's network
    // lines, not the page's errors.
    expect(errors.filter((e) => !/^Failed to load resource: the server responded with a status of 4\d\d/.test(e))).toEqual([]);
  });
});

/** The company account of ENTERPRISE rides, failing while `down` is set: how a dead letter is made. */
class SwitchableCompanyAccounts extends CompanyAccounts {
  down = true;
  override async charge(paymentId: string, orderId: string, amountCents: number): Promise<void> {
    if (this.down) throw new Error('billing is down');
    return super.charge(paymentId, orderId, amountCents);
  }
}

/**
 * The console on the operator API, with the worker on: the counts move as a ride does, an operator
 * forces an order with a reason that the transition log keeps, and redrives a dead letter once.
 */
describe('the operator console acts, in a browser', () => {
  const prefix = uniquePrefix('console');
  const accounts = new SwitchableCompanyAccounts();
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    t = await startTestApp(
      { amqpPrefix: prefix, workerRetryDelaysMs: [100, 200], timersEnabled: false, sweeperEnabled: false, console: { secureCookie: 'auto', sessionMaxAgeS: 3_600, pollMs: 300 } },
      { override: (builder) => builder.overrideProvider(CompanyAccounts).useValue(accounts) },
    );
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    errors = pageErrors(page);
    await page.goto(`${base}/console/sign-in`);
    await page.fill('#token', tokenOf('operator'));
    await page.click('#sign-in button');
    await page.waitForURL(`${base}/console`);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await deleteTopology(prefix);
  });

  const count = async (state: string) => Number(await page.locator(`#count-${state}`).textContent());
  // Waited for through the page's own DOM (the service's CSP forbids evaluating strings, the test's too).
  const countBecomes = (state: string, value: number) => page.locator(`#count-${state}`, { hasText: new RegExp(`^${value}$`) }).waitFor({ timeout: 30_000 });

  it('moves the counts on the diagram as a ride moves', async () => {
    await page.locator('#count-CREATED').waitFor();
    const [created, accepted] = [await count('CREATED'), await count('ACCEPTED')];
    const orderId = await createOrder(t);
    await countBecomes('CREATED', created + 1);
    expect(await page.locator('#diagram g.node[data-state=CREATED] g.count text').textContent()).toBe(String(created + 1));
    await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    await Promise.all([countBecomes('CREATED', created), countBecomes('ACCEPTED', accepted + 1)]);
    await screenshot(page, 'fleet');
  });

  it('forces an order with a reason: the page shows it, and the transition log keeps source, actor and reason', async () => {
    const orderId = await createOrder(t);
    await advance(t, orderId, 'ACCEPT', { driverId: 'd-1' });
    await page.goto(`${base}/console/orders/${orderId}`);
    await page.locator('#force select[name=toState]').waitFor();
    await page.selectOption('#force select[name=toState]', 'CANCELLED');
    await page.fill('#force textarea[name=reason]', 'the passenger called: a duplicate ride');
    await page.click('#force button[type=submit]');
    await page.locator('#order-state').getByText('CANCELLED').waitFor();
    const forced = page.locator('#timeline li.transition[data-source=operator]');
    await forced.waitFor();
    expect(await forced.textContent()).toContain('the passenger called: a duplicate ride');
    await screenshot(page, 'order');

    const log = (await t.http().get(`/orders/${orderId}/transitions`).expect(200)).body as Array<Record<string, unknown>>;
    expect(log.at(-1)).toMatchObject({ fromState: 'ACCEPTED', toState: 'CANCELLED', source: 'operator', actor: callerName('operator'), reason: 'the passenger called: a duplicate ride' });
  });

  it('redrives a dead letter from the order page: the work applies once', async () => {
    const orderId = await createOrder(t, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' });
    for (const [event, payload] of TO_FEE_CONFIRMED) await advance(t, orderId, event, payload);
    // AUTO_PAY fails on every attempt, and is dead-lettered: the fleet lists it.
    await page.goto(`${base}/console`);
    const link = page.locator(`#dead-letters a[href="/console/orders/${orderId}"]`);
    await link.waitFor({ timeout: 60_000 });
    await screenshot(page, 'dead-letters');
    await link.click();
    await page.waitForURL(`${base}/console/orders/${orderId}`);
    const redrive = page.locator('#timeline form.redrive');
    await redrive.waitFor();
    // The attempts that failed are in the timeline, each with its outcome and code; the last one dead-lettered.
    const attempts = page.locator('#timeline li.attempt[data-source=worker]');
    expect(await attempts.locator('strong').allTextContents()).toContain('AUTO_PAY attempt 1');
    expect(await attempts.locator('.tag').allTextContents()).toEqual(expect.arrayContaining(['retry', 'dead-lettered']));
    expect(await attempts.first().textContent()).toContain('INTERNAL_ERROR');

    accounts.down = false;
    await redrive.locator('input[name=reason]').fill('billing is back');
    await redrive.locator('button').click();
    await page.locator('#order-state').getByText(/PAID|CLOSED/).waitFor();
    const log = (await t.http().get(`/orders/${orderId}/transitions`).expect(200)).body as Array<{ event: string }>;
    expect(log.filter((e) => e.event === 'AUTO_PAY')).toHaveLength(1);
    expect(await page.locator('#timeline li.dead .tag').allTextContents()).toContain('redriven');
    await screenshot(page, 'redriven');
  });

  it('previews a bulk pause as a dry run that changes nothing, then applies it', async () => {
    const orderIds = [await createOrder(t), await createOrder(t)];
    await page.goto(`${base}/console/bulk`);
    await page.selectOption('#bulk select[name=action]', 'pause');
    await page.fill('#bulk textarea[name=orderIds]', orderIds.join('\n'));
    await page.fill('#bulk textarea[name=reason]', 'checking these two with the driver');
    await page.click('#bulk-preview');
    await page.locator('#bulk-summary').getByText('Would change 2 of 2 orders').waitFor();
    for (const orderId of orderIds) expect((await t.http().get(`/ops/orders/${orderId}`).set('authorization', bearer('operator'))).body.order.paused).toBeNull();
    await screenshot(page, 'bulk');
    await page.click('#bulk-apply');
    await page.locator('#bulk-summary').getByText('Changed 2 of 2').waitFor();
    for (const orderId of orderIds) expect((await t.http().get(`/ops/orders/${orderId}`).set('authorization', bearer('operator'))).body.order.paused).toMatchObject({ reason: 'checking these two with the driver' });
  });

  it('ran without a script error or a Content-Security-Policy violation', () => {
    expect(errors.filter((e) => !/^Failed to load resource: the server responded with a status of 4\d\d/.test(e))).toEqual([]);
  });
});

describe("the console's sign-in and its guard against other sites, over HTTP", () => {
  let t: TestApp;
  let base: string;
  const cookie = `order_fsm_console=${encodeURIComponent(tokenOf('operator'))}`;
  const raw = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { redirect: 'manual', ...init });

  beforeAll(async () => {
    t = await startTestApp({ relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves the sign-in page and the static files to anyone, under the Content-Security-Policy, and nothing else of its folder', async () => {
    const signIn = await raw('/console/sign-in');
    expect(signIn.status).toBe(200);
    expect(signIn.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(signIn.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    expect(signIn.headers.get('content-security-policy')).toMatch(/script-src-attr 'none'/);
    const script = await raw('/console/assets/console.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await raw('/console/assets/console.js', { headers: { 'if-none-match': script.headers.get('etag')! } })).status).toBe(304);
    expect((await raw('/console/assets/console.html')).status).toBe(404);
    expect((await raw('/console/assets/..%2Fconsole.controller.ts')).status).toBe(404);
    expect((await raw('/console/assets/nothing.js')).status).toBe(404);
  });

  it('sends a browser without a sign-in to the sign-in page; a client gets 403, an operator the page', async () => {
    const anonymous = await raw('/console/orders/o-1');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/console/sign-in?next=%2Fconsole%2Forders%2Fo-1');
    expect((await raw('/console/machine')).status).toBe(401);
    expect((await raw('/console', { headers: { authorization: bearer('client') } })).status).toBe(403);
    const page = await raw('/console', { headers: { authorization: bearer('operator') } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/console/assets/console.js"></script>');
  });

  it('signs in with the token in Authorization: an HttpOnly, SameSite=Strict cookie; only an operator', async () => {
    const session = await raw('/console/session', { method: 'POST', headers: { authorization: bearer('operator') } });
    expect(session.status).toBe(204);
    expect(session.headers.get('set-cookie')).toBe(`${cookie}; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict`);
    expect(session.headers.get('cache-control')).toBe('no-store');
    const client = await raw('/console/session', { method: 'POST', headers: { authorization: bearer('client') } });
    expect(client.status).toBe(403);
    expect(client.headers.get('set-cookie')).toBeNull();
  });

  it('takes the cookie for a token under /console and /ops, and for reads of the diagram, nowhere else', async () => {
    const orderId = await createOrder(t);
    expect((await raw('/console/machine', { headers: { cookie } })).status).toBe(200);
    expect((await raw(`/ops/orders/${orderId}`, { headers: { cookie } })).status).toBe(200);
    expect((await raw(`/orders/${orderId}`, { headers: { cookie } })).status).toBe(401);
    expect((await raw(`/orders/${orderId}/transitions`, { headers: { cookie } })).status).toBe(401);
    expect((await raw('/metrics', { headers: { cookie } })).status).toBe(401);
    // The diagram and its HTML viewer open in the signed-in operator's browser; nothing else under /fsm does.
    expect((await raw('/fsm/diagram', { headers: { cookie } })).status).toBe(200);
    expect((await raw('/fsm/diagram?format=html', { headers: { cookie } })).status).toBe(200);
    expect((await raw('/fsm/validation', { headers: { cookie } })).status).toBe(401);
    expect((await raw('/fsm/diagram', { method: 'POST', headers: { cookie } })).status).not.toBe(200);
    const event = { event: 'CANCEL', requestId: uid('csrf'), payload: {} };
    const post = await raw(`/orders/${orderId}/events`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-order-fsm-console': '1' }, body: JSON.stringify(event) });
    expect(post.status).toBe(401);
    // A token in the header wins over the cookie, and is not held to the cross-site check.
    expect((await raw('/console/machine', { headers: { cookie, authorization: bearer('client') } })).status).toBe(403);
  });

  it.each([
    ['no console header (an HTML form posting from any page)', {}],
    ['another origin', { 'x-order-fsm-console': '1', origin: 'http://127.0.0.1:1' }],
    ['the same site, another origin, as the browser says', { 'x-order-fsm-console': '1', 'sec-fetch-site': 'same-site' }],
  ])('refuses a state-changing request signed in by the cookie with %s: 403', async (_name, headers: Record<string, string>) => {
    const response = await raw('/console/session', { method: 'POST', headers: { cookie, ...headers } });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'CROSS_SITE' } });
  });

  it("lets it through from the console's own origin (the session endpoint then wants the token itself)", async () => {
    const response = await raw('/console/session', { method: 'POST', headers: { cookie, 'x-order-fsm-console': '1', origin: base, 'sec-fetch-site': 'same-origin' } });
    expect(response.status).toBe(400);
  });

  it('signs out only from the console: without its header 403, with it the cookie is cleared', async () => {
    expect((await raw('/console/sign-out', { method: 'POST', headers: { cookie } })).status).toBe(403);
    const out = await raw('/console/sign-out', { method: 'POST', headers: { cookie, 'x-order-fsm-console': '1' } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^order_fsm_console=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict$/);
  });
});
