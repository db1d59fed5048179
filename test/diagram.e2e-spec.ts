import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineMigration } from '@order-fsm/core';
import { main } from '../apps/order-service/src/cli.js';
import { createTaxiMachine, createTaxiMachineV1 } from '../apps/order-service/src/taxi/taxi.machine.js';
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
    expect(app.text).toContain('title: taxi (EXPRESS@APP)');
    expect(app.text).not.toContain('AUTO_PAY');
    expect(enterprise.text).toContain('FEE_CONFIRMED --> PAID : auto: AUTO_PAY [system] / CompanyAutoPayProcessor');
    expect(enterprise.text).toContain('class FEE_CONFIRMED,PAID automatic');
  });

  it.each([
    ['an unknown format', { format: 'png' }],
    ['an unknown bizCode', { bizCode: 'BIKE' }],
    ['SQL in the sceneId', { sceneId: "APP' OR 1=1" }],
  ])('refuses %s with VALIDATION_FAILED', async (_name, query) => {
    const response = await t.http('operator').get('/fsm/diagram').query(query);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('answers the validation report of the running machine', async () => {
    const response = await t.http('operator').get('/fsm/validation');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ issues: [] });
  });
});

describe('the CLI', () => {
  it('validate: reports the taxi machine sound, exit 0', async () => {
    const lines: string[] = [];
    expect(await main(['validate'], (line) => lines.push(line))).toBe(0);
    expect(lines.at(-1)).toBe('the taxi machine: 0 error(s), 0 warning(s)');
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
