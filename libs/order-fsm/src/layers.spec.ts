import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layers of the library, lowest first: a file imports only from its own part or from a lower
 * layer, so data and dependencies flow one way (docs/ARCHITECTURE.md draws it). Parts on the same
 * layer do not import each other, and an adapter imports no other adapter but the SQL kit.
 */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['model', 'order-fsm.constants.ts', 'order-fsm.messages.ts'],
  ['errors'],
  ['ports'],
  ['processor', 'http', 'order-fsm.options.ts'],
  ['registry'],
  ['engine', 'diagram'],
  ['workers', 'adapters'],
  ['ops'],
  ['order-fsm.module-definition.ts'],
  ['order-fsm.module.ts'],
  ['testing'],
  ['index.ts'],
];
const SHARED_ADAPTER_KIT = 'adapters/sql';

const root = dirname(fileURLToPath(import.meta.url));
const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });

const partOf = (file: string): string => relative(root, file).split('/')[0];
const layerOf = (part: string): number => {
  const index = LAYERS.findIndex((layer) => layer.includes(part));
  if (index < 0) throw new Error(`${part} is on no layer: add it to LAYERS`);
  return index;
};
const adapterOf = (file: string): string | null => {
  const [top, adapter] = relative(root, file).split('/');
  return top === 'adapters' ? `adapters/${adapter}` : null;
};

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map(([, spec]) => normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
}

/** Modules that are drivers or clients of a service: only an adapter's subpath may load one. */
const DRIVERS = ['mysql2', 'pg', 'sql.js', 'typeorm', 'ioredis', 'redlock', 'amqp-connection-manager', 'amqplib', 'prom-client', '@hpcc-js/wasm-graphviz', '@opentelemetry/api'];

/** The packages a file loads when it is imported: value imports only (`import type` is erased, `import()` is lazy). */
function packagesLoadedBy(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?'([^.][^']*)'/gm)].map(([, name]) => name);
}

describe('the layers of libs/order-fsm/src', () => {
  const files = sources(root);

  it('has no import that points up, across one layer, or from one adapter into another', () => {
    const violations: string[] = [];
    for (const file of files) {
      const part = partOf(file);
      for (const target of importsOf(file)) {
        const targetPart = partOf(target);
        if (targetPart === part) {
          const [from, to] = [adapterOf(file), adapterOf(target)];
          if (from && to && from !== to && to !== SHARED_ADAPTER_KIT) violations.push(`${relative(root, file)} -> ${relative(root, target)} (another adapter)`);
          continue;
        }
        if (layerOf(targetPart) >= layerOf(part)) violations.push(`${relative(root, file)} -> ${relative(root, target)}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('checks something: every part is on a layer and the graph has edges', () => {
    const parts = new Set(files.map(partOf));
    for (const part of parts) expect(layerOf(part)).toBeGreaterThanOrEqual(0);
    expect(files.reduce((edges, file) => edges + importsOf(file).length, 0)).toBeGreaterThan(100);
  });

  it('loads no driver from the main entry point: every adapter is a subpath of its own', () => {
    const seen = new Set<string>();
    const loaded = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const name of packagesLoadedBy(file)) loaded.add(name);
      const text = readFileSync(file, 'utf8');
      for (const [, spec] of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?'(\.{1,2}\/[^']+)'/gm)) {
        visit(normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
      }
    };
    visit(join(root, 'index.ts'));
    expect(seen.size).toBeGreaterThan(30);
    expect([...loaded].filter((name) => DRIVERS.includes(name))).toEqual([]);
    expect([...seen].filter((file) => partOf(file) === 'adapters').map((file) => relative(root, file))).toEqual([]);
    // And the check sees a driver where there is one.
    expect(packagesLoadedBy(join(root, 'adapters/redis/redlock-order-lock.ts'))).toContain('redlock');
  });
});
