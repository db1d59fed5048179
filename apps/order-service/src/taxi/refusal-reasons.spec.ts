import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFUSAL_REASONS } from './taxi.model.js';

const TAXI = join(process.cwd(), 'apps/order-service/src/taxi');

/** Every `.ts` source of the taxi module (its specs aside). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

describe('REFUSAL_REASONS', () => {
  it('names every reason the taxi checkers and processors fail with, so that metrics count each by name', () => {
    const failed = new Set<string>();
    for (const file of sources(TAXI)) {
      for (const match of readFileSync(file, 'utf8').matchAll(/ServiceResult\.fail\(\s*'([A-Z_]+)'/g)) failed.add(match[1]);
    }
    expect(failed.size).toBeGreaterThan(5);
    expect([...failed].filter((reason) => !(REFUSAL_REASONS as readonly string[]).includes(reason))).toEqual([]);
  });
});
