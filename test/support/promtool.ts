import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Debian's promtool (`apt-get install prometheus`; .ci/run installs it). PROMTOOL_PATH names another.
 * A test that needs it fails when it is missing, as the browser test does without Chromium.
 */
export const PROMTOOL_PATH = process.env.PROMTOOL_PATH || '/usr/bin/promtool';

/** `promtool check metrics` on Prometheus text: its exit code and what it printed. */
export function checkMetrics(text: string): Promise<{ code: number | null; output: string }> {
  if (!existsSync(PROMTOOL_PATH)) throw new Error(`no promtool at ${PROMTOOL_PATH}: apt-get install prometheus (or set PROMTOOL_PATH)`);
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL_PATH, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}
