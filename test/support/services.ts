import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { waitFor } from './broker.js';
import { DATABASE } from './database.js';

const run = promisify(execFile);

async function ok(command: string, args: string[]): Promise<boolean> {
  try {
    await run(command, args, { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const redisUp = async () => (await run('redis-cli', ['-h', '127.0.0.1', 'ping']).catch(() => ({ stdout: '' }))).stdout.trim() === 'PONG';
const mariadbUp = () => ok('mariadb-admin', ['--protocol=tcp', '-h127.0.0.1', '-uroot', 'ping', '--silent']);
const postgresUp = () => ok('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']);

/** Stops Redis (it keeps nothing on disk: every key, every lock, is gone), runs `whileDown`, starts it again. */
export async function restartRedis(whileDown: () => Promise<void>): Promise<void> {
  await run('redis-cli', ['-h', '127.0.0.1', 'shutdown', 'nosave']).catch(() => undefined);
  await waitFor('Redis to stop', async () => !(await redisUp()));
  try {
    await whileDown();
  } finally {
    await run('redis-server', [
      '--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no',
      '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log',
    ]);
    await waitFor('Redis to start', redisUp, 60_000);
  }
}

/** Stops MariaDB, runs `whileDown`, starts it again and waits until it answers. */
export async function restartMariaDb(whileDown: () => Promise<void>): Promise<void> {
  await run('mariadb-admin', ['--protocol=tcp', '-h127.0.0.1', '-uroot', 'shutdown'], { timeout: 120_000 });
  // It stops answering before its process exits; starting it again before then would be a no-op.
  await waitFor('MariaDB to exit', async () => !(await ok('pgrep', ['-x', 'mariadbd'])), 120_000, 200);
  try {
    await whileDown();
  } finally {
    await run('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd']);
    await waitFor('MariaDB to start', mariadbUp, 120_000, 250);
  }
}

/**
 * Stops the local PostgreSQL cluster (fast: open sessions are ended, as in a failover or a restart
 * for an upgrade), runs `whileDown`, starts it again and waits until it answers. The cluster is the
 * newest under /etc/postgresql, the one .ci/run starts.
 */
export async function restartPostgres(whileDown: () => Promise<void>): Promise<void> {
  const version = readdirSync('/etc/postgresql').sort((a, b) => Number(a) - Number(b)).at(-1)!;
  // pg_ctlcluster stop returns once the server has exited.
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'stop', '-m', 'fast'], { timeout: 120_000 });
  await waitFor('PostgreSQL to stop answering', async () => !(await postgresUp()), 60_000, 200);
  try {
    await whileDown();
  } finally {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { timeout: 120_000 });
    await waitFor('PostgreSQL to start', postgresUp, 120_000, 250);
  }
}

/** Stops the database the suites run the service on (MariaDB or PostgreSQL), runs `whileDown`, starts it again. */
export function restartDatabase(whileDown: () => Promise<void>): Promise<void> {
  return DATABASE === 'postgres' ? restartPostgres(whileDown) : restartMariaDb(whileDown);
}
