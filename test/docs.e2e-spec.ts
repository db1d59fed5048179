import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = process.cwd();
/** Every document a reader follows: the README, the guide, the package's README. */
const DOCUMENTS = ['README.md', 'libs/order-fsm/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface Sample {
  readonly document: string;
  readonly line: number;
  readonly path: string;
  readonly code: string;
}

/** The ```ts blocks of a document, each one a module of its own. */
function samplesOf(document: string): Sample[] {
  const text = readFileSync(join(ROOT, document), 'utf8');
  const samples: Sample[] = [];
  const fence = /^```ts\n([\s\S]*?)^```$/gm;
  for (const match of text.matchAll(fence)) {
    const line = text.slice(0, match.index).split('\n').length + 1;
    // A virtual file next to the document: packages and the @order-fsm/core alias resolve, and a
    // sample in docs/ imports the guide's machine as './examples/parcel.js'.
    const slash = document.lastIndexOf('/');
    const path = join(ROOT, document.slice(0, slash + 1), `.sample-${document.slice(slash + 1).replace(/\W/g, '_')}-${line}.ts`);
    samples.push({ document, line, path, code: match[1] });
  }
  return samples;
}

describe('every code sample in the docs compiles', () => {
  const samples = DOCUMENTS.flatMap(samplesOf);

  it('finds the samples of the guide', () => {
    const documents = new Set(samples.map((s) => s.document));
    for (const guide of ['README.md', 'docs/writing-a-processor.md', 'docs/checkers-and-plugins.md', 'docs/dimensions.md', 'docs/configuration.md', 'docs/testing.md']) {
      expect(documents).toContain(guide);
    }
  });

  it('type-checks each one against the library, as a module of its own', () => {
    const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    const options: ts.CompilerOptions = { ...config.options, noEmit: true, noUnusedLocals: false, moduleDetection: ts.ModuleDetectionKind.Force };
    const byPath = new Map(samples.map((s) => [s.path, s]));
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const getSourceFile = host.getSourceFile.bind(host);
    host.fileExists = (file) => byPath.has(file) || ts.sys.fileExists(file);
    host.readFile = (file) => byPath.get(file)?.code ?? readFile(file);
    host.getSourceFile = (file, language, onError, create) =>
      byPath.has(file) ? ts.createSourceFile(file, byPath.get(file)!.code, language, true) : getSourceFile(file, language, onError, create);
    const program = ts.createProgram({ rootNames: [...byPath.keys()], options, host });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && byPath.has(d.file.fileName))
      .map((d) => {
        const sample = byPath.get(d.file!.fileName)!;
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${sample.document}:${sample.line + line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  });
});
