import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { samplesOf } from './support/doc-samples.js';

const ROOT = process.cwd();
/** Every document a reader follows: the README, the guide, the package's README. */
const DOCUMENTS = ['README.md', 'libs/order-fsm/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('every code sample in the docs compiles', () => {
  const samples = DOCUMENTS.flatMap((document) => samplesOf(ROOT, document));

  it('finds the samples of the guide', () => {
    const documents = new Set(samples.map((s) => s.document));
    for (const guide of ['README.md', 'docs/writing-a-processor.md', 'docs/checkers-and-plugins.md', 'docs/dimensions.md', 'docs/configuration.md', 'docs/testing.md', 'libs/order-fsm/README.md']) {
      expect(documents).toContain(guide);
    }
  });

  it('gives each named sample a file of its own, which no real file shadows', () => {
    const named = samples.filter((s) => s.name);
    // The package's guide is files that import each other: its app modules, its processors.
    expect(named.filter((s) => s.document === 'libs/order-fsm/README.md').length).toBeGreaterThan(0);
    const paths = named.map((s) => s.path);
    expect(paths.filter((path, i) => paths.indexOf(path) !== i)).toEqual([]);
    expect(paths.filter((path) => existsSync(path))).toEqual([]);
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
