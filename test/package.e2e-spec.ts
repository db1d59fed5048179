import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = process.cwd();
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** The versions the monorepo runs, so the scratch app installs what was tested here. */
function versionsOf(names: string[]): Record<string, string> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  return Object.fromEntries(names.map((name) => [name, lock.packages[`node_modules/${name}`].version]));
}

const SCRATCH_MAIN = `
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AbstractStateProcessor, defineMachine, type MachineTypes, OrderFsmEngine, OrderFsmModule, OrderProcessor, ServiceResult, type StateContext } from '@order-fsm/core';
import { ORDER_FSM_MIGRATIONS, MysqlOrderStore } from '@order-fsm/core/mysql';
import { RedlockOrderLock } from '@order-fsm/core/redis';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

const machine = defineMachine({
  name: 'ticket',
  initial: 'NEW',
  states: { OPEN: {}, DONE: { final: true } },
  transitions: [
    { from: 'NEW', event: 'CREATE', to: 'OPEN' },
    { from: 'OPEN', event: 'RESOLVE', to: 'DONE' },
  ],
});

// The processors' types, from the package's declarations: the machine's states, the data, the payloads.
type Ticket = MachineTypes<typeof machine> & { data: { title?: string } };
type OpenTypes = Ticket & { payload: { title: string } };
type ResolveTypes = Ticket & { payload: { agent: string }; result: { resolvedBy: string } };

@OrderProcessor({ state: 'NEW', event: 'CREATE' })
class OpenTicket extends AbstractStateProcessor<OpenTypes> {
  getNextState() { return 'OPEN' as const; }
  action(_next: string, ctx: StateContext<OpenTypes>) {
    ctx.order.data.title = ctx.payload.title;
    return ServiceResult.ok();
  }
}

@OrderProcessor({ state: 'OPEN', event: 'RESOLVE', bizCode: 'SUPPORT' })
class ResolveTicket extends AbstractStateProcessor<ResolveTypes> {
  getNextState() { return 'DONE' as const; }
  action(_next: string, ctx: StateContext<ResolveTypes>) {
    return ServiceResult.ok({ resolvedBy: ctx.payload.agent });
  }
}

@Module({
  imports: [
    OrderFsmModule.forRootAsync({
      useFactory: async () => {
        const dataSource = new DataSource({ type: 'mysql', url: process.env.DATABASE_URL, timezone: 'Z', migrations: [...ORDER_FSM_MIGRATIONS], migrationsRun: true });
        await dataSource.initialize();
        const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
        await new Promise((resolve) => redis.once('ready', resolve));
        return { machine, store: new MysqlOrderStore(dataSource), lock: new RedlockOrderLock(redis), outbox: false };
      },
    }),
  ],
  providers: [OpenTicket, ResolveTicket],
})
class TicketModule {}

const app = await NestFactory.createApplicationContext(TicketModule, { logger: ['error'] });
const engine = app.get(OrderFsmEngine);
const created = await engine.createOrder({ requestId: randomUUID(), bizCode: 'SUPPORT', sceneId: 'WEB', payload: { title: 'printer on fire' } });
const resolved = await engine.sendEvent<{ resolvedBy: string }>({ eventType: 'RESOLVE', orderId: created.orderId, requestId: randomUUID(), payload: { agent: 'kim' } });
const log = await engine.listTransitions(created.orderId);
console.log(JSON.stringify({ created: created.toState, resolved: resolved.toState, result: resolved.result, data: resolved.order.data, log: log.map((t) => t.event) }));
await app.close();
process.exit(0);
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

describe('the library as a package of its own', () => {
  let scratch: string;
  let tarball: string;

  beforeAll(async () => {
    // The package's own build: the compiler, and the operator console's files copied beside its code.
    await run('npm', ['run', 'build'], { cwd: join(ROOT, 'libs/order-fsm') });
    // Outside the monorepo: no path alias, no node_modules of ours up the tree.
    scratch = mkdtempSync(join(tmpdir(), 'order-fsm-scratch-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: join(ROOT, 'libs/order-fsm') });
    tarball = join(scratch, (JSON.parse(stdout) as Array<{ filename: string }>)[0].filename);
    const peers = versionsOf([
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/testing',
      'reflect-metadata',
      'rxjs',
      'typeorm',
      'mysql2',
      'ioredis',
      'redlock',
      'amqp-connection-manager',
      'amqplib',
      'prom-client',
      'sql.js',
      '@types/node',
    ]);
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'scratch-tickets', private: true, type: 'module', dependencies: { '@order-fsm/core': `file:${tarball}`, ...peers } }, null, 2),
    );
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          types: ['node'],
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          strict: true,
          outDir: 'dist',
          rootDir: 'src',
        },
        include: ['src'],
      }),
    );
    mkdirSync(join(scratch, 'src'));
    writeFileSync(join(scratch, 'src/main.ts'), SCRATCH_MAIN);
    writeFileSync(join(scratch, 'src/testbed.ts'), SCRATCH_TESTBED);
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: scratch, timeout: 240_000 });
    // The package's own typings, not the monorepo's sources, type the app: no skipLibCheck.
    await run(process.execPath, [TSC, '-p', scratch], { cwd: scratch });
  }, 300_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds the library only: compiled code, typings, its README, nothing of the taxi service or the tests', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/README.md',
        'package/dist/index.js',
        'package/dist/index.d.ts',
        'package/dist/testing/index.d.ts',
        'package/dist/ops/index.js',
        'package/dist/ops/index.d.ts',
        'package/dist/ops/console/assets/console.html',
        'package/dist/ops/console/assets/console.js',
      ]),
    );
    expect(files.filter((f) => /taxi|order-service|\.spec\.|\/src\//.test(f))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(scratch, 'node_modules/@order-fsm/core/package.json'), 'utf8'));
    expect(Object.keys(manifest.peerDependencies)).toEqual(expect.arrayContaining(['@nestjs/common', '@nestjs/core', 'typeorm', 'mysql2', 'ioredis', 'redlock']));
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it('runs a scratch Nest app: its processors are found, and an event goes through them on MariaDB and Redis', async () => {
    const { stdout } = await run(process.execPath, ['dist/main.js'], {
      cwd: scratch,
      env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
      created: 'OPEN',
      resolved: 'DONE',
      result: { resolvedBy: 'kim' },
      data: { title: 'printer on fire' },
      log: ['CREATE', 'RESOLVE'],
    });
  });

  it('gives that app @order-fsm/core/testing', async () => {
    const { stdout } = await run(process.execPath, ['dist/testbed.js'], { cwd: scratch, timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ path: ['SHUT', 'OPEN'] });
  });
});
