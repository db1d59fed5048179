import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One ```ts block of a document: a module of its own. */
export interface DocSample {
  readonly document: string;
  /** The line of the document where its code starts. */
  readonly line: number;
  /** The file it is, next to the document. */
  readonly path: string;
  /** The name a sample gives itself on its first line (`// file: app.module.ts`), which other samples of its document import. */
  readonly name?: string;
  readonly code: string;
}

const NAMED = /^\/\/ file: ([\w.-]+\.ts)\n/;

/**
 * The ```ts blocks of a document (a path from `root`). Each is a virtual file next to the document, so
 * that packages resolve and a sample in docs/ imports the guide's machine as './examples/parcel.js'.
 * A sample that names itself (`// file: tickets.ts` on its first line) is that file, and the other
 * samples of the document import it by that name (`./tickets.js`); any other gets a name of its own.
 */
export function samplesOf(root: string, document: string): DocSample[] {
  const text = readFileSync(join(root, document), 'utf8');
  const samples: DocSample[] = [];
  const fence = /^```ts\n([\s\S]*?)^```$/gm;
  for (const match of text.matchAll(fence)) {
    const line = text.slice(0, match.index).split('\n').length + 1;
    const slash = document.lastIndexOf('/');
    const name = NAMED.exec(match[1])?.[1];
    const file = name ?? `.sample-${document.slice(slash + 1).replace(/\W/g, '_')}-${line}.ts`;
    samples.push({ document, line, path: join(root, document.slice(0, slash + 1), file), name, code: match[1] });
  }
  return samples;
}
