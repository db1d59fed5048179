import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineMachine, type MachineDefinition } from '@order-fsm/core';
import { waitFor } from '../../support/broker.js';
import { startServiceProcess, type ServiceProcess } from '../../support/service-process.js';
import { readHistory, type HistoryEntry } from './checker.js';

const SUPPORT = 'test/faults/support';

/** The machine of the fault nodes, from the same file they read. */
export function faultMachine(): MachineDefinition {
  return defineMachine(JSON.parse(readFileSync(`${SUPPORT}/fault-machine.json`, 'utf8')));
}

/** A fault node (fault-node.mjs): the library in a process of its own, driven over IPC. */
export interface FaultNode {
  readonly child: ChildProcess;
  /** stdout so far. */
  output(): string;
  /** Resolves with the first stdout line that starts with `prefix`. */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  create(orderId: string, bizCode: string): Promise<NodeReply>;
  send(orderId: string, event: string, payload?: Record<string, unknown>, requestId?: string): Promise<NodeReply>;
  /** Lets a holder of the order (an event sent with the payload `{ hold: true }`) go on to write. */
  release(orderId: string): Promise<NodeReply>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface NodeReply {
  ok: boolean;
  outcome?: { version: number; toState: string; replayed: boolean };
  error?: { code: string; message: string };
}

export async function startFaultNode(env: Record<string, string>): Promise<FaultNode> {
  const child = fork(`${SUPPORT}/fault-node.mjs`, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<string, { resolve: (reply: NodeReply) => void; reject: (error: Error) => void }>();
  child.on('message', (message: NodeReply & { id: string }) => {
    pending.get(message.id)?.resolve(message);
    pending.delete(message.id);
  });
  child.once('exit', () => {
    for (const { reject } of pending.values()) reject(new Error('the fault node exited before it answered'));
    pending.clear();
  });
  const command = (cmd: string, args: Record<string, unknown>) =>
    new Promise<NodeReply>((resolve, reject) => {
      const id = randomUUID();
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...args });
    });
  const line = (prefix: string, timeoutMs = 30_000) =>
    waitFor(`a fault node to print "${prefix}"`, async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the fault node exited:\n${output}`);
      return output.split('\n').find((l) => l.startsWith(prefix));
    }, timeoutMs, 20);
  await line('READY', 60_000);
  return {
    child,
    output: () => output,
    line,
    create: (orderId, bizCode) => command('create', { orderId, bizCode, requestId: `create-${randomUUID()}` }),
    send: (orderId, event, payload = {}, requestId = `send-${randomUUID()}`) => command('send', { orderId, event, payload, requestId }),
    release: (orderId) => command('release', { orderId }),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await command('stop', {}).catch(() => undefined);
      await exited;
    },
  };
}

/** The taxi service as separate processes: API instances (no worker) and workers. */
export interface Cluster {
  readonly apis: ServiceProcess[];
  readonly workers: ServiceProcess[];
  readonly urls: string[];
  stop(): Promise<void>;
}

export async function startCluster(prefix: string, options: { apis?: number; workers?: number; env?: Record<string, string> } = {}): Promise<Cluster> {
  // No rate limit: the load driver is a single address sending thousands of requests a minute.
  const env = { AMQP_PREFIX: prefix, AUTO_STUCK_AFTER_MS: '3000', SWEEPER_INTERVAL_MS: '1000', WORKER_RETRY_DELAYS_MS: '200,500,1000', RATE_LIMIT_MAX: '0', ...options.env };
  // Every process is stopped again when one of them fails to start: none is left running for the suites after.
  const started: ServiceProcess[] = [];
  const start = async (worker: boolean) => {
    const process = await startServiceProcess({ ...env, WORKER_ENABLED: String(worker) });
    started.push(process);
    return process;
  };
  let apis: ServiceProcess[];
  let workers: ServiceProcess[];
  try {
    apis = await Promise.all(Array.from({ length: options.apis ?? 2 }, () => start(false)));
    workers = await Promise.all(Array.from({ length: options.workers ?? 0 }, () => start(true)));
  } catch (error) {
    await Promise.allSettled(started.map((p) => p.stop('SIGKILL')));
    throw error;
  }
  return {
    apis,
    workers,
    urls: apis.map((a) => `http://127.0.0.1:${a.port}`),
    stop: async () => {
      await Promise.all([...apis, ...workers].map((p) => p.stop()));
    },
  };
}

export interface LoadPlan {
  mode: 'rides' | 'storm';
  urls: string[];
  history: string;
  durationMs?: number;
  clients?: number;
  graceMs?: number;
  rounds?: number;
  width?: number;
  requestTimeoutMs?: number;
}

/** Runs the load driver in its own process; answers its counts and the history it wrote. */
export function runLoad(plan: LoadPlan): { done: Promise<{ counts: Record<string, number>; history: HistoryEntry[] }>; stop: () => void } {
  const child = spawn(process.execPath, [`${SUPPORT}/load-driver.mjs`, JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const done = new Promise<{ counts: Record<string, number>; history: HistoryEntry[] }>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`the load driver exited with ${code}: ${out}`));
      resolve({ counts: JSON.parse(out), history: readHistory(plan.history) });
    });
  });
  // Rides only: no new ride starts after stop(), the ones under way go on to their end.
  return { done, stop: () => void child.kill('SIGUSR2') };
}
