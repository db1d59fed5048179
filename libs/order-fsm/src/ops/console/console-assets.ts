import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The console's files: plain ES modules, one stylesheet, two HTML pages; no build step, nothing from another origin. */
export const CONSOLE_ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml; charset=utf-8',
};

/** What may be a file name of the console: no path, no dot files. */
const NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

export interface ConsoleAsset {
  readonly name: string;
  readonly type: string;
  readonly body: Buffer;
  /** A strong validator of the body, for If-None-Match. */
  readonly etag: string;
}

/**
 * The console's files, read once when the application starts: a request can name only a file that
 * was there then (no path is ever joined from a request), and a missing folder stops the start with
 * a message rather than answering 404 to the first operator at 3 a.m.
 */
export class ConsoleAssets {
  private readonly files = new Map<string, ConsoleAsset>();

  constructor(dir: string = CONSOLE_ASSETS_DIR) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      throw new Error(`the operator console's files are not in ${dir}: copy libs/order-fsm/src/ops/console/assets there with the build`, { cause: error });
    }
    for (const name of names) {
      if (!NAME.test(name) || !statSync(join(dir, name)).isFile()) continue;
      const body = readFileSync(join(dir, name));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      this.files.set(name, { name, type: TYPES[extname(name)], body, etag });
    }
    for (const required of ['console.html', 'sign-in.html', 'console.js', 'console.css']) {
      if (!this.files.has(required)) throw new Error(`the operator console's ${required} is missing from ${dir}`);
    }
  }

  get(name: string): ConsoleAsset | undefined {
    return NAME.test(name) ? this.files.get(name) : undefined;
  }

  names(): string[] {
    return [...this.files.keys()].sort();
  }
}
