import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from './broker.js';
import { callerAgent, type TestCaller } from './callers.js';

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  output(): string;
  /** An HTTP client that sends as `who` (default: the test client), with the tokens of API_TOKENS. */
  http(who?: TestCaller): ReturnType<typeof callerAgent>;
  /** SIGTERM (graceful) by default; resolves once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The built service (`npm run build`) as a separate process, with the environment given. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['dist/apps/order-service/src/main.js'], {
    // Warnings and errors only, unless the test asks: a line per request would slow the load suites.
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await waitFor(
    'the service process to listen',
    async () => {
      if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}):\n${output}`);
      const match = /listening on :(\d+)/.exec(output);
      return match ? Number(match[1]) : undefined;
    },
    60_000,
  ).catch(async (error) => {
    child.kill('SIGKILL');
    // What the process said, so that a slow or stuck start can be told apart from a crash.
    throw new Error(`${(error as Error).message}; its output so far:\n${output.split('\n').slice(-40).join('\n')}`);
  });
  return {
    child,
    port,
    output: () => output,
    http: (who?: TestCaller) => callerAgent(`http://127.0.0.1:${port}`, who),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      await exited;
    },
  };
}
