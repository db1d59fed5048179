// The taxi machine's CLI, for people and for CI. It builds the service's processors without connecting
// to anything (no database, Redis or RabbitMQ is needed):
//   node dist/apps/order-service/src/cli.js validate            every problem of the machine; exit 1 on errors
//   node dist/apps/order-service/src/cli.js diagram [--out DIR] Mermaid, DOT and SVG, whole and per bizCode@sceneId
import 'reflect-metadata';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  type MachineDefinition,
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
import { taxiMachines } from './taxi/taxi.machine.js';
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

/** `versions`: what the service serves (the tests check other declarations with it). */
export async function main(argv: readonly string[], out: (line: string) => void = console.log, versions: ServedVersions = taxiMachines()): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'validate' && command !== 'diagram') {
    out('usage: cli.js validate | diagram [--out DIR]');
    return 2;
  }
  let diagrams: OrderFsmDiagrams;
  try {
    const app = await NestFactory.createApplicationContext(TaxiDefinitionModule.register(versions), { logger: false, abortOnError: false });
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
    for (const issue of issues) out(`${issue.severity.padEnd(8)} ${issue.code}: ${issue.message}`);
    const errors = issues.filter((i) => i.severity === 'error').length;
    out(`the taxi machine: ${errors} error(s), ${issues.length - errors} warning(s)`);
    return errors > 0 ? 1 : 0;
  }

  const outIndex = rest.indexOf('--out');
  const dir = outIndex >= 0 && rest[outIndex + 1] ? rest[outIndex + 1] : 'docs/diagrams';
  mkdirSync(dir, { recursive: true });
  const scopes = [{}, ...BIZ_CODES.flatMap((bizCode) => SCENE_IDS.map((sceneId) => ({ bizCode, sceneId })))];
  for (const scope of scopes) {
    const diagram = diagrams.describe(scope);
    const name = 'bizCode' in scope ? `taxi.${diagram.scope}` : 'taxi';
    writeFileSync(join(dir, `${name}.mmd`), toMermaid(diagram));
    writeFileSync(join(dir, `${name}.dot`), toDot(diagram));
    writeFileSync(join(dir, `${name}.svg`), await toSvg(diagram));
    out(`wrote ${join(dir, name)}.{mmd,dot,svg}: ${diagram.states.length} states, ${diagram.edges.length} transitions`);
  }
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
