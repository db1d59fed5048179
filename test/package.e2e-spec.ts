import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { samplesOf } from './support/doc-samples.js';

const run = promisify(execFile);
const ROOT = process.cwd();
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const ATTW = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js');
/** The package's README: its guide is the app the scratch project builds and runs. */
const GUIDE = 'libs/order-fsm/README.md';

/** The versions the monorepo runs, so the scratch app installs what was tested here. */
function versionsOf(names: string[]): Record<string, string> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  return Object.fromEntries(names.map((name) => [name, lock.packages[`node_modules/${name}`].version]));
}

/**
 * A ticket's whole life through the guide's app, on the wiring named (app.mariadb, app.postgres,
 * app.embedded): what the engine answers, then what findOrder and listTransitions read back.
 */
const SCRATCH_RIDE = `
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { OrderFsmError } from '@order-fsm/core';
import { randomUUID } from 'node:crypto';
import { TicketsService } from './guide/tickets.service.js';

const { AppModule } = await import(\`./guide/app.\${process.argv[2]}.js\`);
const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
const tickets = app.get(TicketsService);
const refusal = (error: unknown) => ({ code: (error as OrderFsmError).code, details: (error as OrderFsmError).details });

const untitled = await tickets.open('').catch(refusal);
const opened = await tickets.open('printer on fire');
const id = opened.orderId;
const assigned = await tickets.assign(id, 'kim');
const resolveRequest = randomUUID();
const resolved = await tickets.resolve(id, 'unplugged it', resolveRequest);
const replayed = await tickets.resolve(id, 'unplugged it', resolveRequest);
const lateAssign = await tickets.assign(id, 'lee').catch(refusal);
const order = await tickets.find(id);
const history = await tickets.history(id);
console.log(JSON.stringify({
  untitled,
  steps: [opened, assigned, resolved].map((o) => [o.fromState, o.toState, o.version]),
  result: resolved.result,
  replayed: { replayed: replayed.replayed, toState: replayed.toState, result: replayed.result },
  lateAssign,
  order: order && { orderId: order.orderId, state: order.state, version: order.version, bizCode: order.bizCode, sceneId: order.sceneId, data: order.data },
  history: history.map((t) => ({ version: t.version, event: t.event, from: t.fromState, to: t.toState, source: t.source, processor: t.processor, payload: t.payload })),
  resolvedBy: history.find((t) => t.event === 'RESOLVE')?.requestId === resolveRequest,
  unknown: { order: await tickets.find(randomUUID()), history: await tickets.history(randomUUID()) },
  malformedId: await tickets.find('').catch(refusal),
}));
// No process.exit: the app's own shutdown must let go of every connection for the process to end.
await app.close();
`;

const SCRATCH_TESTBED = `
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { AbstractStateProcessor, defineMachine, OrderProcessor, ServiceResult } from '@order-fsm/core';
import { OrderFsmTestbed } from '@order-fsm/core/testing';

const machine = defineMachine({ name: 'door', initial: 'NONE', states: { SHUT: {}, OPEN: { final: true } }, transitions: [
  { from: 'NONE', event: 'CREATE', to: 'SHUT' }, { from: 'SHUT', event: 'OPEN', to: 'OPEN' },
] });

@OrderProcessor({ state: 'NONE', event: 'CREATE' })
class Build extends AbstractStateProcessor { getNextState() { return 'SHUT'; } action() { return ServiceResult.ok(); } }
@OrderProcessor({ state: 'SHUT', event: 'OPEN' })
class Open extends AbstractStateProcessor { getNextState() { return 'OPEN'; } action() { return ServiceResult.ok(); } }

@Module({ providers: [Build, Open] })
class DoorModule {}

const fsm = await OrderFsmTestbed.create({ machine, imports: [DoorModule] });
const { orderId } = await fsm.create({ bizCode: 'HOME', sceneId: 'FRONT' });
await fsm.send(orderId, 'OPEN');
console.log(JSON.stringify({ path: await fsm.path(orderId) }));
await fsm.close();
`;

/** A consumer of every entry point: a value and a type of each, none of which may come out \`any\`. */
const EVERY_SUBPATH = `
import { OrderFsmEngine, OrderFsmModule, defineMachine, type FsmOrder, type TransitionLogEntry } from '@order-fsm/core';
import { OrderFsmTestbed, type OrderFsmTestbedOptions } from '@order-fsm/core/testing';
import { MysqlOrderStore, ORDER_FSM_MIGRATIONS } from '@order-fsm/core/mysql';
import { PostgresOrderStore, ORDER_FSM_POSTGRES_MIGRATIONS } from '@order-fsm/core/postgres';
import { SqliteOrderStore } from '@order-fsm/core/sqlite';
import { RedlockOrderLock, type RedlockOrderLockOptions } from '@order-fsm/core/redis';
import { AmqpMessaging, type AmqpMessagingOptions } from '@order-fsm/core/amqp';
import { InProcessMessaging, InProcessOrderLock } from '@order-fsm/core/in-process';
import { PrometheusOrderFsmMetrics } from '@order-fsm/core/prometheus';
import { OpenTelemetryTracing, type OpenTelemetryTracingOptions } from '@order-fsm/core/otel';
import { OrderFsmOpsModule, type OrderFsmOpsOptions } from '@order-fsm/core/ops';

/** Never where T is \`any\`: a module the compiler could not find, or typed without its declarations, fails here. */
type Typed<T> = 0 extends 1 & T ? never : T;

export const values: [
  Typed<typeof OrderFsmEngine>, Typed<typeof OrderFsmModule>, Typed<typeof defineMachine>, Typed<typeof OrderFsmTestbed>,
  Typed<typeof MysqlOrderStore>, Typed<typeof ORDER_FSM_MIGRATIONS>, Typed<typeof PostgresOrderStore>,
  Typed<typeof ORDER_FSM_POSTGRES_MIGRATIONS>, Typed<typeof SqliteOrderStore>, Typed<typeof RedlockOrderLock>,
  Typed<typeof AmqpMessaging>, Typed<typeof InProcessMessaging>, Typed<typeof InProcessOrderLock>,
  Typed<typeof PrometheusOrderFsmMetrics>, Typed<typeof OrderFsmOpsModule>, Typed<typeof OpenTelemetryTracing>,
] = [
  OrderFsmEngine, OrderFsmModule, defineMachine, OrderFsmTestbed, MysqlOrderStore, ORDER_FSM_MIGRATIONS, PostgresOrderStore,
  ORDER_FSM_POSTGRES_MIGRATIONS, SqliteOrderStore, RedlockOrderLock, AmqpMessaging, InProcessMessaging, InProcessOrderLock,
  PrometheusOrderFsmMetrics, OrderFsmOpsModule, OpenTelemetryTracing,
];
export type Types = [Typed<OrderFsmTestbedOptions>, Typed<RedlockOrderLockOptions>, Typed<AmqpMessagingOptions>, Typed<OrderFsmOpsOptions>, Typed<OpenTelemetryTracingOptions>];

/** The engine's read API, as the package's declarations type it. */
export async function read(engine: OrderFsmEngine, orderId: string): Promise<[string | undefined, string[]]> {
  const order: FsmOrder | null = await engine.findOrder(orderId);
  const log: TransitionLogEntry[] = await engine.listTransitions(orderId);
  return [order?.state, log.map((entry) => entry.event)];
}
`;

/** A consumer's compiler settings, one per \`moduleResolution\`, each with the \`module\` it goes with. */
const RESOLUTIONS: Record<string, { module: string; moduleResolution: string; file: string; ignoreDeprecations?: string }> = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', file: 'every-subpath.ts' },
  'nodenext from CommonJS': { module: 'nodenext', moduleResolution: 'nodenext', file: 'every-subpath.cts' },
  node16: { module: 'node16', moduleResolution: 'node16', file: 'every-subpath.ts' },
  bundler: { module: 'esnext', moduleResolution: 'bundler', file: 'every-subpath.ts' },
  // TypeScript 6 still resolves the legacy way, and says it is deprecated.
  node10: { module: 'commonjs', moduleResolution: 'node10', file: 'every-subpath.ts', ignoreDeprecations: '6.0' },
};

/** The lines a program printed, without Nest's own log lines. */
const printed = (stdout: string) => stdout.split('\n').filter((line) => line.length > 0 && !line.includes('[Nest]'));

describe('the library as a package of its own', () => {
  let scratch: string;
  let tarball: string;
  let files: string[];
  const installed = () => join(scratch, 'node_modules/@order-fsm/core');
  const guide = samplesOf(ROOT, GUIDE);

  beforeAll(async () => {
    // The package's own build: the compiler, and the operator console's files copied beside its code.
    await run('npm', ['run', 'build'], { cwd: join(ROOT, 'libs/order-fsm') });
    // Outside the monorepo: no path alias, no node_modules of ours up the tree.
    scratch = mkdtempSync(join(tmpdir(), 'order-fsm-scratch-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: join(ROOT, 'libs/order-fsm') });
    tarball = join(scratch, (JSON.parse(stdout) as Array<{ filename: string }>)[0].filename);
    files = (await run('tar', ['-tzf', tarball])).stdout.trim().split('\n');
    const peers = versionsOf([
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/testing',
      '@nestjs/typeorm',
      'reflect-metadata',
      'rxjs',
      'typeorm',
      'mysql2',
      'pg',
      'ioredis',
      'redlock',
      'amqp-connection-manager',
      'amqplib',
      'prom-client',
      '@opentelemetry/api',
      'sql.js',
      '@types/node',
    ]);
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'scratch-tickets', private: true, type: 'module', dependencies: { '@order-fsm/core': `file:${tarball}`, ...peers } }, null, 2),
    );
    const compilerOptions = { target: 'es2022', types: ['node'], experimentalDecorators: true, emitDecoratorMetadata: true, strict: true };
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { ...compilerOptions, module: 'nodenext', moduleResolution: 'nodenext', outDir: 'dist', rootDir: 'src' }, include: ['src'] }),
    );
    mkdirSync(join(scratch, 'src/guide'), { recursive: true });
    // The guide's files as its README shows them, under the names it gives them.
    for (const sample of guide) writeFileSync(join(scratch, 'src/guide', sample.name ?? `unnamed-${sample.line}.ts`), sample.code);
    writeFileSync(join(scratch, 'src/ride.ts'), SCRATCH_RIDE);
    writeFileSync(join(scratch, 'src/testbed.ts'), SCRATCH_TESTBED);
    mkdirSync(join(scratch, 'types'));
    writeFileSync(join(scratch, 'types/every-subpath.ts'), EVERY_SUBPATH);
    writeFileSync(join(scratch, 'types/every-subpath.cts'), EVERY_SUBPATH);
    for (const [name, { file, ...resolution }] of Object.entries(RESOLUTIONS)) {
      writeFileSync(join(scratch, `tsconfig.${name.replace(/\W/g, '-')}.json`), JSON.stringify({ compilerOptions: { ...compilerOptions, ...resolution, noEmit: true }, files: [`types/${file}`] }));
    }
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: scratch, timeout: 240_000 });
    // The package's own typings, not the monorepo's sources, type the app: no skipLibCheck.
    await run(process.execPath, [TSC, '-p', scratch], { cwd: scratch });
  }, 300_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds the library only: compiled code, typings, their sources, its README and CHANGELOG, nothing of the taxi service or the tests', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/README.md',
        'package/CHANGELOG.md',
        'package/dist/index.js',
        'package/dist/index.d.ts',
        'package/dist/index.d.ts.map',
        'package/src/index.ts',
        'package/dist/testing/index.d.ts',
        'package/src/testing/index.ts',
        'package/dist/ops/index.js',
        'package/dist/ops/index.d.ts',
        'package/dist/ops/console/assets/console.html',
        'package/dist/ops/console/assets/console.js',
      ]),
    );
    expect(files.filter((f) => /taxi|order-service|\.spec\./.test(f))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(installed(), 'package.json'), 'utf8'));
    expect(Object.keys(manifest.peerDependencies)).toEqual(expect.arrayContaining(['@nestjs/common', '@nestjs/core', 'typeorm', 'mysql2', 'ioredis', 'redlock']));
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it('ships what its source maps and declaration maps point to, and a declaration map for every declaration', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    const declarations = files.filter((f) => f.startsWith('package/dist/') && f.endsWith('.d.ts'));
    expect(declarations.length).toBeGreaterThan(50);
    expect(declarations.filter((d) => !files.includes(`${d}.map`))).toEqual([]);
    expect(files.filter((f) => f.startsWith('package/dist/') && !f.startsWith('package/dist/ops/console/assets/') && f.endsWith('.js') && !files.includes(`${f}.map`))).toEqual([]);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot } = JSON.parse(readFileSync(join(scratch, 'node_modules/@order-fsm/core', map.slice('package/'.length)), 'utf8')) as {
        sources: string[];
        sourceRoot?: string;
      };
      expect(sources.length).toBeGreaterThan(0);
      for (const source of sources) {
        const target = normalize(join(dirname(map), sourceRoot ?? '', source));
        if (!files.includes(target)) missing.push(`${map} -> ${source}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('types every entry point for a consumer under each moduleResolution: nodenext, node16, bundler and node10', async () => {
    const manifest = JSON.parse(readFileSync(join(installed(), 'package.json'), 'utf8')) as {
      exports: Record<string, string | { types?: string; default: string }>;
      typesVersions: Record<string, Record<string, string[]>>;
    };
    const subpaths = Object.keys(manifest.exports).filter((key) => key !== '.' && key !== './package.json');
    // Every entry point has its typings under exports, and again under typesVersions for node10.
    expect(Object.entries(manifest.exports).filter(([key, target]) => key !== './package.json' && (typeof target === 'string' || !target.types))).toEqual([]);
    expect(Object.keys(manifest.typesVersions['*']).map((key) => `./${key}`).sort()).toEqual([...subpaths].sort());
    for (const subpath of subpaths) {
      expect(EVERY_SUBPATH).toContain(`from '@order-fsm/core/${subpath.slice(2)}'`);
      expect(manifest.typesVersions['*'][subpath.slice(2)]).toEqual([(manifest.exports[subpath] as { types: string }).types]);
    }
    const failures: Record<string, string> = {};
    for (const name of Object.keys(RESOLUTIONS)) {
      await run(process.execPath, [TSC, '-p', join(scratch, `tsconfig.${name.replace(/\W/g, '-')}.json`)], { cwd: scratch }).catch((error: { stdout: string }) => {
        failures[name] = error.stdout;
      });
    }
    expect(failures).toEqual({});
  }, 300_000);

  it('has no problem @arethetypeswrong/cli finds in its tarball, but that it is ES modules only', async () => {
    // Exit code 1 when it finds a problem; the report says which, in JSON, written to a file (a pipe may be cut short at its exit).
    const reportFile = join(scratch, 'attw.json');
    await run('sh', ['-c', `"$0" "$1" "$2" --format json --no-definitely-typed > "$3"`, process.execPath, ATTW, tarball, reportFile], { cwd: scratch }).catch(() => undefined);
    const stdout = readFileSync(reportFile, 'utf8');
    const report = JSON.parse(stdout) as { analysis: { entrypoints: Record<string, unknown> }; problems?: Record<string, Array<{ kind: string; entrypoint: string; resolutionKind: string }>> };
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(
      ['.', './amqp', './in-process', './mysql', './ops', './otel', './package.json', './postgres', './prometheus', './redis', './sqlite', './testing'].sort(),
    );
    // A CommonJS consumer under node16 may only import() it: Nest 12 is ES modules only, and so is the engine.
    const problems = Object.values(report.problems ?? {}).flat();
    expect(problems.filter((p) => !(p.kind === 'CJSResolvesToESM' && p.resolutionKind === 'node16-cjs'))).toEqual([]);
  });

  it('compiles every block of its README guide, as a file of an app that installed the package', () => {
    // Each block is named, so the app below is the guide's own code.
    expect(guide.filter((sample) => !sample.name).map((sample) => `${GUIDE}:${sample.line}`)).toEqual([]);
    expect(guide.map((sample) => sample.name)).toEqual(
      expect.arrayContaining(['tickets.ts', 'tickets.service.ts', 'redis.module.ts', 'app.mariadb.ts', 'app.postgres.ts', 'app.embedded.ts', 'main.ts']),
    );
    for (const sample of guide) expect(existsSync(join(scratch, 'dist/guide', sample.name!.replace(/\.ts$/, '.js')))).toBe(true);
  });

  const expectedRide = {
    untitled: { code: 'CHECK_FAILED', details: expect.objectContaining({ reason: 'TITLE_MISSING' }) },
    steps: [
      ['NEW', 'OPEN', 1],
      ['OPEN', 'ASSIGNED', 2],
      ['ASSIGNED', 'DONE', 3],
    ],
    result: { resolvedBy: 'kim' },
    replayed: { replayed: true, toState: 'DONE', result: { resolvedBy: 'kim' } },
    lateAssign: { code: 'NOT_FOUND_PROCESSOR', details: expect.anything() },
    order: { orderId: expect.any(String), state: 'DONE', version: 3, bizCode: 'SUPPORT', sceneId: 'WEB', data: { title: 'printer on fire', agent: 'kim' } },
    history: [
      { version: 1, event: 'CREATE', from: 'NEW', to: 'OPEN', source: 'api', processor: 'OpenTicket', payload: { title: 'printer on fire' } },
      { version: 2, event: 'ASSIGN', from: 'OPEN', to: 'ASSIGNED', source: 'api', processor: 'AssignTicket', payload: { agent: 'kim' } },
      { version: 3, event: 'RESOLVE', from: 'ASSIGNED', to: 'DONE', source: 'api', processor: 'ResolveTicket', payload: { note: 'unplugged it' } },
    ],
    resolvedBy: true,
    unknown: { order: null, history: [] },
    malformedId: { code: 'VALIDATION_FAILED', details: { field: 'orderId' } },
  };

  const ride = async (wiring: string, env: Record<string, string | undefined>) => {
    const { stdout } = await run(process.execPath, ['dist/ride.js', wiring], { cwd: scratch, env: { ...process.env, ...env }, timeout: 60_000 });
    return JSON.parse(printed(stdout).pop()!);
  };

  it('runs a ticket through the guide app on MariaDB and Redis: its final state and its history read back', async () => {
    expect(await ride('mariadb', { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL })).toEqual(expectedRide);
  });

  it('runs the same on PostgreSQL and Redis', async () => {
    expect(await ride('postgres', { DATABASE_URL: process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test', REDIS_URL: process.env.REDIS_URL })).toEqual(expectedRide);
  });

  it('runs the same embedded, on sql.js with its schema from ensureSchema()', async () => {
    expect(await ride('embedded', { DATABASE_URL: undefined, REDIS_URL: undefined })).toEqual(expectedRide);
  });

  it("runs the guide's main.ts as it is written", async () => {
    const { stdout } = await run(process.execPath, ['dist/guide/main.js'], { cwd: scratch, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
    expect(printed(stdout)).toEqual(["DONE { resolvedBy: 'kim' }", 'DONE', "v1 NEW -CREATE-> OPEN", 'v2 OPEN -ASSIGN-> ASSIGNED', 'v3 ASSIGNED -RESOLVE-> DONE']);
  });

  it('gives that app @order-fsm/core/testing', async () => {
    const { stdout } = await run(process.execPath, ['dist/testbed.js'], { cwd: scratch, timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ path: ['SHUT', 'OPEN'] });
  });
});
