import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineMachine, defineMigration, OrderFsmDiagrams, type MachineIssue } from '@order-fsm/core';
import { main, servedVersionsOf, validationReport, writeDiagrams } from '../apps/order-service/src/cli.js';
import { createTaxiMachine, createTaxiMachineV1 } from '../apps/order-service/src/taxi/taxi.machine.js';
import type { ResolvedOrderFsmOptions } from '../libs/order-fsm/src/order-fsm.options.js';
import { ProcessorRegistry } from '../libs/order-fsm/src/registry/processor-registry.js';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, pageErrors } from './support/browser.js';
import { bearer } from './support/callers.js';
import { startTestApp, type TestApp } from './support/test-app.js';

describe('the machine draws itself: GET /fsm/diagram', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers the whole taxi machine as SVG by default', async () => {
    const response = await t.http('operator').get('/fsm/diagram');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^image\/svg\+xml/);
    const svg = response.text ?? response.body.toString();
    expect(svg).toContain('<svg');
    // INIT and the ten states of v1, and v2's FRAUD_REVIEW.
    expect(svg.match(/<g id="node/g)).toHaveLength(12);
  });

  it('draws an SVG that scales to its container: a viewBox, no fixed width or height', async () => {
    for (const query of [{}, { bizCode: 'EXPRESS', sceneId: 'ENTERPRISE' }, { from: '1', to: '2' }]) {
      const response = await t.http('operator').get('/fsm/diagram').query(query);
      const svg = response.text ?? response.body.toString();
      const root = /<svg\b[^>]*>/.exec(svg)![0];
      expect(root).toMatch(/ viewBox="0\.00 0\.00 [\d.]+ [\d.]+"/);
      expect(root).not.toMatch(/\b(width|height)=/);
    }
  });

  it('answers Mermaid and DOT, each edge naming its event and processor', async () => {
    const mermaid = await t.http('operator').get('/fsm/diagram').query({ format: 'mermaid' });
    expect(mermaid.headers['content-type']).toMatch(/^text\/vnd\.mermaid/);
    expect(mermaid.text).toContain('CREATED --> ACCEPTED : ACCEPT [client] / AcceptOrderProcessor');
    expect(mermaid.text).toContain('FEE_CONFIRMED --> PAID : PAY [payment] / PayProcessor');
    expect(mermaid.text).toContain('CREATED --> CANCELLED : timer: ACCEPT_TIMEOUT [system] / AcceptTimeoutProcessor');
    // The current version's (v2's) fee confirmation and fraud review, not v1's processor.
    expect(mermaid.text).toContain('TRIP_ENDED --> FRAUD_REVIEW : CONFIRM_FEE [client] / ConfirmFeeWithReviewProcessor');
    expect(mermaid.text).toContain('FRAUD_REVIEW --> FEE_CONFIRMED : APPROVE_FEE [operator] / ApproveFeeProcessor');
    expect(mermaid.text).toContain('FRAUD_REVIEW --> CANCELLED : REJECT_FEE [operator] / RejectFeeProcessor');
    expect(mermaid.text).not.toContain('ConfirmFeeProcessor');
    const dot = await t.http('operator').get('/fsm/diagram').query({ format: 'dot' });
    expect(dot.headers['content-type']).toMatch(/^text\/vnd\.graphviz/);
    expect(dot.text).toMatch(/"FEE_CONFIRMED" -> "PAID" \[label="auto: AUTO_PAY \[system\]\\nCompanyAutoPayProcessor", style=bold/);
  });

  it('draws one bizCode@sceneId with only the transitions it can take', async () => {
    const app = await t.http('operator').get('/fsm/diagram').query({ bizCode: 'EXPRESS', sceneId: 'APP', format: 'mermaid' });
    const enterprise = await t.http('operator').get('/fsm/diagram').query({ bizCode: 'EXPRESS', sceneId: 'ENTERPRISE', format: 'mermaid' });
    expect(app.text).toContain('title: taxi v2 (EXPRESS@APP)');
    expect(app.text).not.toContain('AUTO_PAY');
    expect(enterprise.text).toContain('FEE_CONFIRMED --> PAID : auto: AUTO_PAY [system] / CompanyAutoPayProcessor');
    expect(enterprise.text).toContain('class FEE_CONFIRMED,PAID automatic');
  });

  it.each([
    ['an unknown format', { format: 'png' }],
    ['the viewer of a diff with a version', { format: 'html', version: '1', from: '1', to: '2' }],
    ['an unknown bizCode', { bizCode: 'BIKE' }],
    ['SQL in the sceneId', { sceneId: "APP' OR 1=1" }],
  ])('refuses %s with VALIDATION_FAILED', async (_name, query) => {
    const response = await t.http('operator').get('/fsm/diagram').query(query);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('draws a served version by its number: version=2 is the current drawing, version=1 the one before, in every format and scope', async () => {
    for (const query of [{ format: 'mermaid' }, { format: 'dot' }, { format: 'svg' }, { format: 'mermaid', bizCode: 'TAXI', sceneId: 'ENTERPRISE' }]) {
      const current = await t.http('operator').get('/fsm/diagram').query(query);
      const two = await t.http('operator').get('/fsm/diagram').query({ ...query, version: '2' });
      expect(two.status).toBe(200);
      expect(two.headers['content-type']).toBe(current.headers['content-type']);
      expect(two.text ?? two.body.toString()).toBe(current.text ?? current.body.toString());
    }
    const mermaid = await t.http('operator').get('/fsm/diagram').query({ format: 'mermaid', version: '1' });
    expect(mermaid.text).toContain('title: taxi v1 (*@*)');
    // v1's fee confirmation, by the processor that serves v1; no fraud review.
    expect(mermaid.text).toContain('TRIP_ENDED --> FEE_CONFIRMED : CONFIRM_FEE [client] / ConfirmFeeProcessor');
    expect(mermaid.text).not.toContain('FRAUD_REVIEW');
  });

  it('refuses a version the service does not serve: 400 VALIDATION_FAILED naming the versions served', async () => {
    for (const [query, field] of [
      [{ version: '9' }, 'version'],
      [{ from: '1', to: '9', format: 'mermaid' }, 'to'],
      [{ from: '9', to: '1' }, 'from'],
    ] as const) {
      const response = await t.http('operator').get('/fsm/diagram').query(query);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toEqual({
        statusCode: 400,
        code: 'VALIDATION_FAILED',
        message: `${field} ${query[field]} is not a version of the machine this service serves (versions: 1, 2)`,
        details: { fields: [{ field, problems: [`${field} ${query[field]} is not a version of the machine this service serves (versions: 1, 2)`] }], versions: [1, 2] },
      });
    }
  });

  it.each([
    ['a version that is not a whole number', { version: '1.5' }, 'version must be a whole number from 1'],
    ['version 0', { version: '0' }, 'version must be a whole number from 1'],
    ['two versions', { version: ['1', '2'] }, 'version must be a whole number from 1'],
    ['from without to', { from: '1' }, 'from and to go together: the diff is from one served version to another'],
    ['to without from', { to: '1' }, 'from and to go together: the diff is from one served version to another'],
    ['a version and a diff', { version: '1', from: '1', to: '1' }, 'version draws one version, from and to the difference between two: give one or the other'],
  ])('refuses %s with VALIDATION_FAILED', async (_name, query, message) => {
    const response = await t.http('operator').get('/fsm/diagram').query(query);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', message });
  });

  it('draws the difference between two served versions: from=1&to=1 is the machine with everything the same', async () => {
    const mermaid = await t.http('operator').get('/fsm/diagram').query({ from: '1', to: '1', format: 'mermaid' });
    expect(mermaid.status).toBe(200);
    expect(mermaid.headers['content-type']).toMatch(/^text\/vnd\.mermaid/);
    expect(mermaid.text).toContain('title: taxi v1 → v1 (*@*)');
    expect(mermaid.text).toContain('CREATED --> ACCEPTED : ACCEPT [client] / AcceptOrderProcessor');
    expect(mermaid.text).not.toMatch(/: (added|removed|changed)[:,)]/);
    expect(mermaid.text).toContain('class legend_added added');
    const dot = await t.http('operator').get('/fsm/diagram').query({ from: '1', to: '1', format: 'dot', bizCode: 'EXPRESS', sceneId: 'APP' });
    expect(dot.text).toContain('<b>taxi v1 → v1 (EXPRESS@APP)</b>');
    expect(dot.text).not.toMatch(/#2e7d32", fontcolor|#c62828", fontcolor|#b26a00", fontcolor/);
    const svg = await t.http('operator').get('/fsm/diagram').query({ from: '1', to: '1' });
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    const text = svg.text ?? svg.body.toString();
    expect(text.match(/<g id="node/g)).toHaveLength(11);
    expect(text).toContain('taxi v1 → v1 (*@*)');
  });

  it('draws what v2 changed: the fraud review added, the fee confirmation changed', async () => {
    const mermaid = await t.http('operator').get('/fsm/diagram').query({ from: '1', to: '2', format: 'mermaid' });
    expect(mermaid.status).toBe(200);
    expect(mermaid.text).toContain('title: taxi v1 → v2 (*@*)');
    expect(mermaid.text).toContain('TRIP_ENDED --> FRAUD_REVIEW : added: CONFIRM_FEE [client] / ConfirmFeeWithReviewProcessor');
    expect(mermaid.text).toContain('FRAUD_REVIEW --> FEE_CONFIRMED : added: APPROVE_FEE [operator] / ApproveFeeProcessor');
    expect(mermaid.text).toMatch(/TRIP_ENDED --> FEE_CONFIRMED : changed: CONFIRM_FEE \[client\] \/ ConfirmFeeWithReviewProcessor \(processors ConfirmFeeProcessor → ConfirmFeeWithReviewProcessor\)/);
    expect(mermaid.text).not.toMatch(/: removed:/);
  });

  it('answers the validation report of the running machine', async () => {
    const response = await t.http('operator').get('/fsm/validation');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ issues: [] });
  });
});

describe('the diagram viewer: GET /fsm/diagram?format=html in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let url: string;
  type View = { scale: number; x: number; y: number };
  // The page's own code runs as text: the test compiles without the DOM's types.
  const view = (): Promise<View> =>
    page.evaluate(`(() => { const d = document.getElementById('diagram').dataset; return { scale: Number(d.scale ?? 1), x: Number(d.x ?? 0), y: Number(d.y ?? 0) }; })()`);
  /** Polls the page until `test` holds of its view, for at most 5 s. */
  const viewWhere = async (test: (v: View) => boolean, what: string): Promise<View> => {
    for (const deadline = Date.now() + 5_000; ; ) {
      const current = await view();
      if (test(current)) return current;
      if (Date.now() > deadline) throw new Error(`the view never became ${what}: ${JSON.stringify(current)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    t = await startTestApp({ relayEnabled: false, workerEnabled: false, timersEnabled: false, sweeperEnabled: false });
    const { port } = t.app.getHttpServer().address() as { port: number };
    url = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
    // As an operator opens it: signed in through the console, whose cookie the browser then sends
    // with the viewer's page and its scripts; no header is added to the browser's requests.
    const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    const signIn = await context.newPage();
    const anonymous = await signIn.goto(`${url}/fsm/diagram?format=html`);
    expect(anonymous!.status()).toBe(401);
    await signIn.goto(`${url}/console/sign-in`);
    await signIn.fill('#token', bearer('operator').slice('Bearer '.length));
    await signIn.click('#sign-in button');
    await signIn.waitForURL(`${url}/console`);
    await signIn.close();
    // The viewer in a page of its own, whose errors are the viewer's alone (the sign-in page's 401 above is not).
    page = await context.newPage();
    errors = pageErrors(page);
    await page.addInitScript(`window.violations = []; document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));`);
    const response = await page.goto(`${url}/fsm/diagram?format=html`, { waitUntil: 'load' });
    expect(response!.status()).toBe(200);
    expect(response!.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForFunction(`typeof window.Panzoom === 'function'`, undefined, { timeout: 5_000 });
    expect(await page.title()).toBe('taxi v2 (*@*) - order-fsm');
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t.close();
  });

  it('fits the whole machine in a 1600x900 window, with no scrollbar', async () => {
    const fit = await page.evaluate<{ scrolls: boolean; graph: { left: number; top: number; right: number; bottom: number; width: number }; nodes: number; viewport: unknown }>(`(() => {
      const graph = document.querySelector('#diagram svg g.graph').getBoundingClientRect();
      const root = document.documentElement;
      return {
        scrolls: root.scrollWidth > root.clientWidth || root.scrollHeight > root.clientHeight || document.body.scrollWidth > root.clientWidth,
        graph: { left: graph.left, top: graph.top, right: graph.right, bottom: graph.bottom, width: graph.width },
        nodes: document.querySelectorAll('#diagram svg g.node').length,
        viewport: { width: window.innerWidth, height: window.innerHeight },
      };
    })()`);
    expect(fit.viewport).toEqual({ width: 1600, height: 900 });
    expect(fit.scrolls).toBe(false);
    expect(fit.nodes).toBe(12);
    // Inside the window to the pixel: Graphviz rounds the viewBox to hundredths of a point, and its
    // background polygon, drawn from the unrounded figures, may pass it by a fraction of a pixel.
    expect(fit.graph.left).toBeGreaterThan(-1);
    expect(fit.graph.top).toBeGreaterThan(40 - 1); // below the toolbar
    expect(fit.graph.right).toBeLessThan(1600 + 1);
    expect(fit.graph.bottom).toBeLessThan(900 + 1);
    // Fitted, not merely small: the wide machine spans nearly the whole width.
    expect(fit.graph.width).toBeGreaterThan(1500);
    const png = await page.screenshot({ path: join(mkdtempSync(join(tmpdir(), 'order-fsm-viewer-')), 'viewer.png') });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1600, 900]);
  });

  it('zooms in on the wheel and out again, with the buttons, and fits again on Fit', async () => {
    await page.mouse.move(800, 470);
    await page.mouse.wheel(0, -400);
    const wheeled = await viewWhere((v) => v.scale > 1, 'zoomed in by the wheel');
    await page.click('#zoom-in');
    const zoomed = await viewWhere((v) => v.scale > wheeled.scale, 'zoomed in further by +');
    expect(await page.textContent('#scale')).toBe(`${Math.round(zoomed.scale * 100)}%`);
    await page.click('#zoom-out');
    await viewWhere((v) => v.scale < zoomed.scale, 'zoomed out by -');
    await page.click('#reset');
    await viewWhere((v) => v.scale === 1 && v.x === 0 && v.y === 0, 'fitted again');
  });

  it('pans on a drag', async () => {
    await page.click('#zoom-in');
    const before = await viewWhere((v) => v.scale > 1, 'zoomed in');
    await page.mouse.move(800, 500);
    await page.mouse.down();
    await page.mouse.move(900, 550, { steps: 5 });
    await page.mouse.up();
    const after = await viewWhere((v) => v.x !== before.x && v.y !== before.y, 'moved by the drag');
    expect(after.x).toBeGreaterThan(before.x);
    expect(after.y).toBeGreaterThan(before.y);
    await page.click('#reset');
  });

  it('breaks no rule of the Content-Security-Policy, and logs no error', async () => {
    expect(await page.evaluate('window.violations')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('serves only its own scripts from diagram/assets', async () => {
    const viewer = await t.http('operator').get('/fsm/diagram/assets/viewer.js');
    expect([viewer.status, viewer.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    const panzoom = await t.http('operator').get('/fsm/diagram/assets/panzoom.min.js');
    expect(panzoom.text).toContain('Panzoom 4.6.2');
    for (const name of ['nope.js', '..%2Fpackage.json', 'constructor']) {
      const response = await t.http('operator').get(`/fsm/diagram/assets/${name}`);
      expect([name, response.status, response.body.code]).toEqual([name, 404, 'NOT_FOUND']);
    }
    expect((await t.http('client').get('/fsm/diagram/assets/viewer.js')).status).toBe(403);
  });
});

describe('the CLI', () => {
  it('validate: reports the taxi machine sound, exit 0', async () => {
    const lines: string[] = [];
    expect(await main(['validate'], (line) => lines.push(line))).toBe(0);
    expect(lines).toEqual(['v1: 0 error(s), 0 warning(s)', 'v2 (current): 0 error(s), 0 warning(s)', 'the taxi machine, versions 1, 2: 0 error(s), 0 warning(s)']);
  });

  it('validate: with several versions served, groups the issues by version, then those across versions', () => {
    const issues: MachineIssue[] = [
      { severity: 'warning', code: 'TRANSITION_WITHOUT_PROCESSOR', message: 'v1: no processor handles PAY in CART', version: 1 },
      { severity: 'error', code: 'COMPENSATION_MISSING', message: 'v2: PAY arriving late in CANCELLED is to be compensated', version: 2 },
      { severity: 'error', code: 'MIGRATION_STATE_UNMAPPED', message: 'migration shop v1 -> v2: state CART is not final' },
    ];
    expect(validationReport(issues, [1, 2], 'shop')).toEqual([
      'v1: 0 error(s), 1 warning(s)',
      '  warning  TRANSITION_WITHOUT_PROCESSOR: v1: no processor handles PAY in CART',
      'v2 (current): 1 error(s), 0 warning(s)',
      '  error    COMPENSATION_MISSING: v2: PAY arriving late in CANCELLED is to be compensated',
      'across versions: 1 error(s), 0 warning(s)',
      '  error    MIGRATION_STATE_UNMAPPED: migration shop v1 -> v2: state CART is not final',
      'the shop machine, versions 1, 2: 2 error(s), 1 warning(s)',
    ]);
    // One version: one line per issue and the total, as before versions.
    expect(validationReport([{ ...issues[0], message: 'no processor handles PAY in CART' }], [1], 'shop')).toEqual([
      'warning  TRANSITION_WITHOUT_PROCESSOR: no processor handles PAY in CART',
      'the shop machine: 0 error(s), 1 warning(s)',
    ]);
  });

  it('diagram: writes Mermaid, DOT and SVG for the machine and each bizCode@sceneId; the committed docs/diagrams are current', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'order-fsm-diagrams-'));
    expect(await main(['diagram', '--out', dir], () => undefined)).toBe(0);
    const written = readdirSync(dir).sort();
    expect(written).toContain('taxi.svg');
    expect(written).toContain('taxi.EXPRESS@ENTERPRISE.mmd');
    expect(written).toEqual(readdirSync('docs/diagrams').sort());
    for (const file of written.filter((f) => !f.endsWith('.svg'))) {
      expect({ file, text: readFileSync(join('docs/diagrams', file), 'utf8') }).toEqual({ file, text: readFileSync(join(dir, file), 'utf8') });
    }
  });

  it('diagram and validate: draw and check the machine as the settings of this environment build it (PAYMENT_HOLD_MS, PAYMENT_HOLD_REFUND)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'order-fsm-diagrams-'));
    const saved = { ms: process.env.PAYMENT_HOLD_MS, refund: process.env.PAYMENT_HOLD_REFUND };
    process.env.PAYMENT_HOLD_MS = '300000';
    process.env.PAYMENT_HOLD_REFUND = 'false';
    try {
      expect(await main(['diagram', '--out', dir], () => undefined)).toBe(0);
      expect(await main(['validate'], () => undefined)).toBe(0);
    } finally {
      for (const [name, value] of [['PAYMENT_HOLD_MS', saved.ms], ['PAYMENT_HOLD_REFUND', saved.refund]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    // The committed diagram is the defaults': a ten-minute hold that gives the payment back.
    expect(readFileSync('docs/diagrams/taxi.mmd', 'utf8')).toContain('late PAY: hold 10min, then compensate');
    const drawn = readFileSync(join(dir, 'taxi.mmd'), 'utf8');
    expect(drawn).toContain('late PAY: hold 5min');
    expect(drawn).not.toContain('then compensate');
    // A setting the service would refuse is refused here too, by name.
    expect(() => servedVersionsOf({ PAYMENT_HOLD_MS: 'soon' })).toThrow(/PAYMENT_HOLD_MS/);
    // The rest of the service's settings are not the machine's: no tokens needed to draw it.
    expect(servedVersionsOf({ DATABASE_URL: 'mysql://db/orders', REDIS_URL: 'redis://cache', AMQP_URL: 'amqp://broker' }).machine.version).toBe(2);
  });

  it('diagram: with several versions served, also writes each earlier version and the step between two consecutive ones', async () => {
    const v1 = defineMachine({ name: 'shop', initial: 'INIT', states: { CART: {}, DONE: { final: true } }, transitions: [{ from: 'INIT', event: 'CREATE', to: 'CART' }, { from: 'CART', event: 'CLOSE', to: 'DONE' }] });
    const v2 = defineMachine({
      name: 'shop',
      version: 2,
      initial: 'INIT',
      states: { CART: {}, PAID: { final: true }, DONE: { final: true } },
      transitions: [
        { from: 'INIT', event: 'CREATE', to: 'CART' },
        { from: 'CART', event: 'PAY', to: 'PAID' },
        { from: 'CART', event: 'CLOSE', to: 'DONE' },
      ],
    });
    const registry = new ProcessorRegistry();
    registry.setCurrentVersion(2);
    registry.registerProcessor('Create', { states: ['INIT'], event: 'CREATE', versions: [1, 2] }, {} as never);
    registry.registerProcessor('Close', { states: ['CART'], event: 'CLOSE', versions: [1] }, {} as never);
    registry.registerProcessor('CloseV2', { states: ['CART'], event: 'CLOSE' }, {} as never);
    registry.registerProcessor('Pay', { states: ['CART'], event: 'PAY' }, {} as never);
    registry.seal();
    const options = { machine: v2, machines: new Map([[1, v1], [2, v2]]), migrations: new Map() } as unknown as ResolvedOrderFsmOptions;
    const dir = mkdtempSync(join(tmpdir(), 'order-fsm-versions-'));
    const lines: string[] = [];
    await writeDiagrams(new OrderFsmDiagrams(registry, options), dir, [{ bizCode: 'SHOP', sceneId: 'APP' }], (line) => lines.push(line), 'shop');
    expect(readdirSync(dir).sort()).toEqual(
      ['shop', 'shop.SHOP@APP', 'shop.v1-v2', 'shop.v1'].flatMap((name) => ['dot', 'mmd', 'svg'].map((ext) => `${name}.${ext}`)).sort(),
    );
    expect(readFileSync(join(dir, 'shop.mmd'), 'utf8')).toContain('title: shop v2 (*@*)');
    expect(readFileSync(join(dir, 'shop.v1.mmd'), 'utf8')).toContain('CART --> DONE : CLOSE / Close\n');
    const diff = readFileSync(join(dir, 'shop.v1-v2.mmd'), 'utf8');
    expect(diff).toContain('title: shop v1 → v2 (*@*)');
    expect(diff).toContain('CART --> PAID : added: PAY / Pay');
    expect(diff).toContain('CART --> DONE : changed: CLOSE / CloseV2 (processors Close → CloseV2)');
    expect(readFileSync(join(dir, 'shop.v1-v2.svg'), 'utf8')).toContain('shop v1 → v2 (*@*)');
    expect(lines).toContain(`wrote ${join(dir, 'shop.v1')}.{mmd,dot,svg}: v1, 3 states, 2 transitions`);
    expect(lines).toContain(`wrote ${join(dir, 'shop.v1-v2')}.{mmd,dot,svg}: v1 → v2, 2 added, 0 removed, 1 changed`);
  });

  it('validate: a migration that leaves a state orders can still be in without a place in the next version is an error, exit 1', async () => {
    const v1 = createTaxiMachineV1();
    const v2 = createTaxiMachine();
    const states = Object.fromEntries(v1.stateNames.filter((state) => state !== v1.initial && state !== 'TRIP_ENDED').map((state) => [state, state]));
    const lines: string[] = [];
    expect(await main(['validate'], (line) => lines.push(line), { machine: v2, previousMachines: [v1], migrations: [defineMigration({ from: v1, to: v2, states })] })).toBe(1);
    expect(lines).toEqual([
      'error    MIGRATION_STATE_UNMAPPED: migration taxi v1 -> v2: state TRIP_ENDED is not final, yet the migration does not say where its orders go in v2',
      'the taxi machine has 1 error(s): the service would refuse to start',
    ]);
  });

  it('answers usage and exit 2 for an unknown command', async () => {
    const lines: string[] = [];
    expect(await main(['draw'], (line) => lines.push(line))).toBe(2);
    expect(lines[0]).toMatch(/^usage/);
  });
});
