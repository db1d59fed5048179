// The taxi machine's CLI, for people and for CI. It builds the service's processors without connecting
// to anything (no database, Redis or RabbitMQ is needed):
//   node dist/apps/order-service/src/cli.js validate            every problem of every served version; exit 1 on errors
//   node dist/apps/order-service/src/cli.js diagram [--out DIR] Mermaid, DOT and SVG, whole and per bizCode@sceneId;
//                                                               earlier versions served and each step between two
//   node dist/apps/order-service/src/cli.js replay --machine M --since 24h
//                                 real orders of DATABASE_URL replayed against a candidate machine (read only);
//                                 exit 2 when it decides differently (docs/replay.md)
import 'reflect-metadata';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  type DiagramScope,
  type MachineDefinition,
  type MachineDiagram,
  type MachineIssue,
  type MachineMigration,
  OrderFsmConfigurationError,
  OrderFsmDiagrams,
  OrderFsmModule,
  toDot,
  toMermaid,
  toSvg,
  type OrderStore,
} from '@order-fsm/core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { replayCommand, REPLAY_USAGE } from './replay.js';
import { taxiMachineSettings } from './config/service-config.js';
import { createTaxiMachine, taxiMachines } from './taxi/taxi.machine.js';
import { BIZ_CODES, SCENE_IDS } from './taxi/taxi.model.js';
import { TaxiModule } from './taxi/taxi.module.js';

const offline = () => {
  throw new Error('the CLI sends no events');
};
const offlineStore = { load: offline, commit: offline, listTransitions: offline } as unknown as OrderStore;

/** The processors' dependencies, never connected: the CLI only reads what they are. */
@Global()
@Module({ providers: [{ provide: DataSource, useValue: new DataSource({ type: 'mysql' }) }], exports: [DataSource] })
class OfflineDataSourceModule {}

/** What the CLI checks and draws: every version the service serves and the migrations between them. */
export interface ServedVersions {
  machine: MachineDefinition;
  previousMachines: MachineDefinition[];
  migrations: MachineMigration[];
}

@Module({})
class TaxiDefinitionModule {
  static register(versions: ServedVersions): DynamicModule {
    return {
      module: TaxiDefinitionModule,
      imports: [
        OfflineDataSourceModule,
        OrderFsmModule.forRoot({
          isGlobal: true,
          // Every version the service serves, each with the processors that serve it, and the migrations.
          ...versions,
          store: offlineStore,
          lock: false,
          outbox: false,
          timers: { enabled: false },
          sweeper: { enabled: false },
        }),
        TaxiModule.register({ acceptTimeoutMs: 300_000, paymentTimeoutMs: 1_800_000 }),
      ],
    };
  }
}

/**
 * The validation report, one line per issue and a total. With several versions served, the issues
 * are grouped under the version they are about (oldest first), then those about versions together
 * (a registration for a version not served, a migration).
 */
export function validationReport(issues: readonly MachineIssue[], versions: readonly number[], machine = 'taxi'): string[] {
  const line = (issue: MachineIssue) => `${issue.severity.padEnd(8)} ${issue.code}: ${issue.message}`;
  const errors = issues.filter((i) => i.severity === 'error').length;
  const total = (count: readonly MachineIssue[]) => `${count.filter((i) => i.severity === 'error').length} error(s), ${count.filter((i) => i.severity === 'warning').length} warning(s)`;
  if (versions.length <= 1) return [...issues.map(line), `the ${machine} machine: ${errors} error(s), ${issues.length - errors} warning(s)`];
  const lines: string[] = [];
  const current = versions.at(-1);
  for (const version of versions) {
    const own = issues.filter((i) => i.version === version);
    lines.push(`v${version}${version === current ? ' (current)' : ''}: ${total(own)}`, ...own.map((i) => `  ${line(i)}`));
  }
  const across = issues.filter((i) => i.version === undefined || !versions.includes(i.version));
  if (across.length) lines.push(`across versions: ${total(across)}`, ...across.map((i) => `  ${line(i)}`));
  lines.push(`the ${machine} machine, versions ${versions.join(', ')}: ${errors} error(s), ${issues.length - errors} warning(s)`);
  return lines;
}

const writeDiagram = async (dir: string, name: string, diagram: MachineDiagram) => {
  writeFileSync(join(dir, `${name}.mmd`), toMermaid(diagram));
  writeFileSync(join(dir, `${name}.dot`), toDot(diagram));
  writeFileSync(join(dir, `${name}.svg`), await toSvg(diagram));
};

/**
 * Mermaid, DOT and SVG into `dir`: the current version whole (`taxi.*`) and per scope
 * (`taxi.EXPRESS@APP.*`); each earlier version served, whole (`taxi.v1.*`); and the step between each
 * two consecutive versions served (`taxi.v1-v2.*`).
 */
export async function writeDiagrams(diagrams: OrderFsmDiagrams, dir: string, scopes: readonly Required<DiagramScope>[], out: (line: string) => void, machine = 'taxi'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const scope of [{}, ...scopes]) {
    const diagram = diagrams.describe(scope);
    const name = 'bizCode' in scope ? `${machine}.${diagram.scope}` : machine;
    await writeDiagram(dir, name, diagram);
    out(`wrote ${join(dir, name)}.{mmd,dot,svg}: ${diagram.states.length} states, ${diagram.edges.length} transitions`);
  }
  const { versions } = diagrams;
  for (const version of versions.slice(0, -1)) {
    const diagram = diagrams.describe({}, version);
    await writeDiagram(dir, `${machine}.v${version}`, diagram);
    out(`wrote ${join(dir, `${machine}.v${version}`)}.{mmd,dot,svg}: v${version}, ${diagram.states.length} states, ${diagram.edges.length} transitions`);
  }
  for (const [index, from] of versions.slice(0, -1).entries()) {
    const to = versions[index + 1];
    const diff = diagrams.describeDiff(from, to);
    const counts = (['added', 'removed', 'changed'] as const).map((status) => `${[...diff.states, ...diff.edges].filter((x) => x.status === status).length} ${status}`);
    await writeDiagram(dir, `${machine}.v${from}-v${to}`, diff);
    out(`wrote ${join(dir, `${machine}.v${from}-v${to}`)}.{mmd,dot,svg}: v${from} → v${to}, ${counts.join(', ')}`);
  }
}

/**
 * The versions the service serves with the settings of this environment (PAYMENT_HOLD_MS,
 * PAYMENT_HOLD_REFUND...), so that what is checked and drawn is what an instance started here runs.
 */
export function servedVersionsOf(env: NodeJS.ProcessEnv): ServedVersions {
  const options = taxiMachineSettings(env);
  return taxiMachines(createTaxiMachine(options), options);
}

/** `versions`: what the service serves (the tests check other declarations with it). */
export async function main(argv: readonly string[], out: (line: string) => void = console.log, versions?: ServedVersions): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'replay') return replayCommand(rest, out);
  if (command !== 'validate' && command !== 'diagram') {
    out('usage: cli.js validate | diagram [--out DIR]');
    out(REPLAY_USAGE);
    return 2;
  }
  let diagrams: OrderFsmDiagrams;
  try {
    const app = await NestFactory.createApplicationContext(TaxiDefinitionModule.register(versions ?? servedVersionsOf(process.env)), { logger: false, abortOnError: false });
    diagrams = app.get(OrderFsmDiagrams);
  } catch (error) {
    if (!(error instanceof OrderFsmConfigurationError)) throw error;
    // The machine's own issues with their codes, as below; the registry's (two processors under one key) as they are.
    const codeOf = (message: string) => error.issues.find((issue) => issue.message === message)?.code;
    const line = (message: string) => (codeOf(message) ? `${codeOf(message)}: ${message}` : message);
    for (const problem of error.problems) out(`error    ${line(problem)}`);
    for (const warning of error.warnings) out(`warning  ${line(warning)}`);
    out(`the taxi machine has ${error.problems.length} error(s): the service would refuse to start`);
    return 1;
  }

  if (command === 'validate') {
    const issues = diagrams.validate();
    for (const line of validationReport(issues, diagrams.versions)) out(line);
    return issues.some((i) => i.severity === 'error') ? 1 : 0;
  }

  const outIndex = rest.indexOf('--out');
  const dir = outIndex >= 0 && rest[outIndex + 1] ? rest[outIndex + 1] : 'docs/diagrams';
  await writeDiagrams(diagrams, dir, BIZ_CODES.flatMap((bizCode) => SCENE_IDS.map((sceneId) => ({ bizCode, sceneId }))), out);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
