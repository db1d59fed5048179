import { jest } from '@jest/globals';
import type { Logger } from '@nestjs/common';
import { CheckFailedError } from '../errors/order-fsm.errors.js';
import { AbstractProcessorPlugin } from './abstract-processor-plugin.js';
import { AbstractStateProcessor } from './abstract-state-processor.js';
import type { Checker, CheckerPlan } from './checker.js';
import { CheckerExecutor } from './checker-executor.js';
import { failureOf, ProcessorRun } from './processor-template.js';
import { ServiceResult } from '../model/service-result.js';
import { StateContext } from './state-context.js';

const silentLogger = { error: jest.fn(), warn: jest.fn(), log: jest.fn() } as unknown as Logger;

function newContext(): StateContext {
  return new StateContext(
    { eventType: 'GO', orderId: 'o-1', requestId: 'r-1' },
    { orderId: 'o-1', state: 'A', version: 3, bizCode: 'B', sceneId: 'S', data: {} },
  );
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A checker that records what happens to it. */
class RecordingChecker implements Checker {
  releases: ServiceResult[] = [];
  checks = 0;
  constructor(
    private readonly log: string[],
    readonly name: string,
    private readonly outcome: ServiceResult | (() => Promise<ServiceResult>) = ServiceResult.ok(),
    readonly order = 0,
    private readonly holds = true,
  ) {}
  async check(): Promise<ServiceResult> {
    this.checks++;
    this.log.push(`check:${this.name}`);
    return typeof this.outcome === 'function' ? this.outcome() : this.outcome;
  }
  needRelease(): boolean {
    return this.holds;
  }
  release(_ctx: StateContext, result: ServiceResult): void {
    this.log.push(`release:${this.name}`);
    this.releases.push(result);
  }
}

type Failures = Partial<Record<'action' | 'save' | 'plugin', ServiceResult<never>>>;

class RecordingProcessor extends AbstractStateProcessor<{ result: string }> {
  constructor(
    private readonly log: string[],
    private readonly plan: CheckerPlan = {},
    private readonly failures: Failures = {},
    private readonly saveData?: string,
  ) {
    super();
  }
  override checkers(): CheckerPlan {
    this.log.push('checkers');
    return this.plan;
  }
  override prepare(ctx: StateContext): void {
    this.log.push('prepare');
    ctx.context = { prepared: true };
  }
  getNextState(): string {
    this.log.push('getNextState');
    return 'B';
  }
  action(next: string): ServiceResult<string> {
    this.log.push(`action:${next}`);
    return this.failures.action ?? ServiceResult.ok('from-action');
  }
  override save(next: string): ServiceResult<string> {
    this.log.push(`save:${next}`);
    return this.failures.save ?? ServiceResult.ok(this.saveData);
  }
  override after(): void {
    this.log.push('after');
  }
}

class RecordingPlugin extends AbstractProcessorPlugin {
  constructor(
    private readonly log: string[],
    private readonly name: string,
    private readonly result?: ServiceResult,
    override readonly order = 0,
  ) {
    super();
  }
  execute(ctx: StateContext): ServiceResult | void {
    this.log.push(`plugin:${this.name}`);
    (ctx.order.data as Record<string, unknown>)[this.name] = true;
    return this.result;
  }
}

/**
 * Drives the template the way the engine does: decide, then a transaction (recorded as begin/commit)
 * in which save() runs, then after(), and release() whatever happened.
 */
async function run(processor: AbstractStateProcessor<{ result: string }>, ctx: StateContext, log: string[], plugins: AbstractProcessorPlugin[] = []) {
  const template = new ProcessorRun(processor, ctx, plugins, new CheckerExecutor(silentLogger), silentLogger);
  let ended: ServiceResult = ServiceResult.fail('INTERNAL_ERROR', 'unfinished');
  try {
    const decision = await template.decide((next) => {
      log.push(`assert:${next}`);
      if (next === 'UNDECLARED') throw new Error('not declared');
    });
    log.push(`begin:${decision.nextState}`);
    const result = template.saves ? await template.save(decision, {} as never) : decision.result;
    log.push('commit');
    ended = result;
    await template.after();
    return { nextState: decision.nextState, result };
  } catch (error) {
    ended = failureOf(error);
    throw error;
  } finally {
    await template.release(ended);
  }
}

describe('ProcessorRun, driven as the engine drives it', () => {
  it('runs param checkers, prepare, sync and parallel checkers, getNextState, action, plugins, save in the transaction, after; then releases', async () => {
    const log: string[] = [];
    const plan = {
      param: [new RecordingChecker(log, 'param')],
      sync: [new RecordingChecker(log, 'sync')],
      parallel: [new RecordingChecker(log, 'parallel')],
    };
    const ctx = newContext();
    const outcome = await run(new RecordingProcessor(log, plan), ctx, log, [new RecordingPlugin(log, 'p1')]);

    expect(log).toEqual([
      'checkers',
      'check:param',
      'prepare',
      'check:sync',
      'check:parallel',
      'getNextState',
      'assert:B',
      'action:B',
      'plugin:p1',
      'begin:B',
      'save:B',
      'commit',
      'after',
      'release:param',
      'release:sync',
      'release:parallel',
    ]);
    expect(outcome).toEqual({ nextState: 'B', result: ServiceResult.ok('from-action') });
    expect(ctx.nextState).toBe('B');
    expect(ctx.context).toEqual({ prepared: true });
    expect(ctx.order.data).toEqual({ p1: true });
  });

  it("answers with save()'s result when it carries data", async () => {
    const log: string[] = [];
    const outcome = await run(new RecordingProcessor(log, {}, {}, 'from-save'), newContext(), log);
    expect(outcome.result.data).toBe('from-save');
  });

  it.each([
    ['param-check', 'param'],
    ['sync-check', 'sync'],
    ['parallel-check', 'parallel'],
  ] as const)('stops at a failed %s checker with CHECK_FAILED carrying its code and message', async (step, kind) => {
    const log: string[] = [];
    const failing = new RecordingChecker(log, kind, ServiceResult.fail('NOPE', 'no way', { hint: 1 }));
    const processor = new RecordingProcessor(log, { [kind]: [failing] });
    const error = await run(processor, newContext(), log).catch((e) => e);

    expect(error).toBeInstanceOf(CheckFailedError);
    expect(error.code).toBe('CHECK_FAILED');
    expect(error.message).toBe('no way');
    expect(error.details).toEqual({ hint: 1, reason: 'NOPE', step });
    expect(log).not.toContain('getNextState');
    expect(log).not.toContain('begin:B');
    expect(failing.releases).toEqual([ServiceResult.fail('NOPE', 'no way', { hint: 1 })]);
  });

  it.each(['action', 'plugin', 'save'] as const)('ends with CHECK_FAILED when %s fails, and nothing after it runs', async (step) => {
    const log: string[] = [];
    const failure = ServiceResult.fail('BAD', `${step} said no`);
    const holder = new RecordingChecker(log, 'holder');
    const processor = new RecordingProcessor(log, { param: [holder] }, step === 'plugin' ? {} : { [step]: failure });
    const plugins = [new RecordingPlugin(log, 'p', step === 'plugin' ? failure : undefined)];
    const error = await run(processor, newContext(), log, plugins).catch((e) => e);

    expect(error).toBeInstanceOf(CheckFailedError);
    expect(error.details).toMatchObject({ reason: 'BAD', step });
    expect(log).not.toContain('after');
    expect(log).not.toContain('commit');
    expect(holder.releases).toEqual([failure]);
  });

  it('releases every holder exactly once when a step throws, and rethrows the error', async () => {
    const log: string[] = [];
    const param = new RecordingChecker(log, 'param');
    const sync = new RecordingChecker(log, 'sync');
    const boom = new Error('boom');
    const processor = new RecordingProcessor(log, { param: [param], sync: [sync] });
    processor.getNextState = () => {
      throw boom;
    };
    await expect(run(processor, newContext(), log)).rejects.toBe(boom);
    expect(param.releases).toHaveLength(1);
    expect(sync.releases).toHaveLength(1);
    expect(param.releases[0]).toMatchObject({ success: false, code: 'INTERNAL_ERROR', message: 'boom' });
  });

  it('releases only the checkers that ran and that hold something', async () => {
    const log: string[] = [];
    const ran = new RecordingChecker(log, 'ran');
    const notHolding = new RecordingChecker(log, 'not-holding', ServiceResult.ok(), 0, false);
    const failed = new RecordingChecker(log, 'failed', ServiceResult.fail('X', 'x'), 1);
    const neverRan = new RecordingChecker(log, 'never-ran');
    const processor = new RecordingProcessor(log, { param: [ran, notHolding, failed], sync: [neverRan] });
    await run(processor, newContext(), log).catch(() => undefined);
    expect(ran.releases).toHaveLength(1);
    expect(failed.releases).toHaveLength(1);
    expect(notHolding.releases).toHaveLength(0);
    expect(neverRan.checks).toBe(0);
    expect(neverRan.releases).toHaveLength(0);
  });

  it('releases with the successful result after commit', async () => {
    const log: string[] = [];
    const holder = new RecordingChecker(log, 'holder');
    await run(new RecordingProcessor(log, { parallel: [holder] }), newContext(), log);
    expect(holder.releases).toEqual([ServiceResult.ok('from-action')]);
  });

  it('keeps the transition when after() fails', async () => {
    const log: string[] = [];
    const processor = new RecordingProcessor(log);
    processor.after = () => {
      throw new Error('after failed');
    };
    await expect(run(processor, newContext(), log)).resolves.toMatchObject({ nextState: 'B' });
    expect(log).toContain('commit');
  });

  it('refuses an undeclared target before action() runs, and releases what the checkers hold', async () => {
    const log: string[] = [];
    const holder = new RecordingChecker(log, 'holder');
    const processor = new RecordingProcessor(log, { param: [holder] });
    processor.getNextState = () => 'UNDECLARED';
    await expect(run(processor, newContext(), log)).rejects.toThrow('not declared');
    expect(log.some((l) => l.startsWith('action'))).toBe(false);
    expect(holder.releases).toHaveLength(1);
  });

  it('rejects a getNextState() that names no state', async () => {
    const log: string[] = [];
    const processor = new RecordingProcessor(log);
    processor.getNextState = () => '' as string;
    await expect(run(processor, newContext(), log)).rejects.toThrow(/getNextState\(\) returned ""/);
    expect(log).not.toContain('begin:');
  });

  it('runs plugins concurrently and reports the failure first by order', async () => {
    const log: string[] = [];
    const gate = deferred<void>();
    class SlowFail extends AbstractProcessorPlugin {
      override readonly order = 1;
      async execute() {
        log.push('slow:start');
        await gate.promise;
        return ServiceResult.fail('SLOW', 'slow failed');
      }
    }
    class FastFail extends AbstractProcessorPlugin {
      override readonly order = 2;
      execute() {
        log.push('fast:start');
        gate.resolve();
        return ServiceResult.fail('FAST', 'fast failed');
      }
    }
    const error = await run(new RecordingProcessor(log), newContext(), log, [new FastFail(), new SlowFail()]).catch((e) => e);
    expect(log.filter((l) => l.endsWith(':start')).sort()).toEqual(['fast:start', 'slow:start']);
    expect(error.details.reason).toBe('SLOW');
  });
});

describe('CheckerExecutor', () => {
  const executor = new CheckerExecutor(silentLogger);

  it('runs serial checkers by order and stops at the first failure', async () => {
    const log: string[] = [];
    const checkers = [
      new RecordingChecker(log, 'third', ServiceResult.ok(), 3),
      new RecordingChecker(log, 'first', ServiceResult.ok(), 1),
      new RecordingChecker(log, 'second', ServiceResult.fail('STOP', 'stop'), 2),
    ];
    const invoked: Checker[] = [];
    const failure = await executor.serial(checkers, newContext(), invoked);
    expect(log).toEqual(['check:first', 'check:second']);
    expect(failure?.code).toBe('STOP');
    expect(invoked.map((c) => (c as RecordingChecker).name)).toEqual(['first', 'second']);
  });

  it('runs parallel checkers at the same time', async () => {
    const log: string[] = [];
    const a = deferred<ServiceResult>();
    const b = deferred<ServiceResult>();
    const checkers = [new RecordingChecker(log, 'a', () => a.promise), new RecordingChecker(log, 'b', () => b.promise)];
    const running = executor.parallel(checkers, newContext(), []);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['check:a', 'check:b']);
    b.resolve(ServiceResult.ok());
    a.resolve(ServiceResult.ok());
    await expect(running).resolves.toBeUndefined();
  });

  it('reports the parallel failure that comes first by order, not first in time', async () => {
    const log: string[] = [];
    const late = deferred<ServiceResult>();
    const checkers = [
      new RecordingChecker(log, 'later-order', ServiceResult.fail('SECOND', 'second'), 2),
      new RecordingChecker(log, 'first-order', () => late.promise, 1),
    ];
    const running = executor.parallel(checkers, newContext(), []);
    // The later-order failure has settled, and everything waiting on it has run, before the first-order one fails.
    await new Promise((r) => setImmediate(r));
    late.resolve(ServiceResult.fail('FIRST', 'first'));
    expect((await running)?.code).toBe('FIRST');
  });

  it('releases each holder once even if listed twice, and survives a failing release', async () => {
    const log: string[] = [];
    const holder = new RecordingChecker(log, 'holder');
    const broken = new RecordingChecker(log, 'broken');
    broken.release = () => {
      throw new Error('release failed');
    };
    await executor.release([holder, holder, broken], newContext(), ServiceResult.ok());
    expect(holder.releases).toHaveLength(1);
    expect(silentLogger.error).toHaveBeenCalledWith(expect.stringContaining('release() of RecordingChecker failed'), expect.any(Error));
  });
});
