import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { didYouMean } from '../closest-names.ts';
import {
  DefinitionError,
  isEntity,
  isFeatureService,
  isFeatureView,
  isOnDemandView,
  isSource,
} from '../definitions/index.ts';
import { HintedError } from '../hinted-error.ts';
import { registerTransformFile } from '../on-demand/transform-catalog.ts';
import type { AnyDefinition, LocatedDefinition } from './compile.ts';

const definitionFile = /\.(ts|mts|js|mjs)$/;
const ignoredFile = /(\.d\.ts|\.test\.ts|\.spec\.ts)$/;

/** A definitions file that could not be loaded: missing folder, syntax error, thrown error. */
export class DefinitionsLoadError extends HintedError {}

function isDefinition(value: unknown): value is AnyDefinition {
  return (
    isEntity(value) ||
    isSource(value) ||
    isFeatureView(value) ||
    isOnDemandView(value) ||
    isFeatureService(value)
  );
}

/** Lists definition files under `dir` (recursively, sorted, skipping tests, `_*` and dot files). */
export async function listDefinitionFiles(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new DefinitionsLoadError(
      `definitions folder ${dir} does not exist`,
      'run from the project folder or pass --defs <path>',
    );
  }
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && definitionFile.test(e.name) && !ignoredFile.test(e.name))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter(
      (rel) =>
        !rel
          .split('/')
          .some((part) => part.startsWith('_') || part.startsWith('.') || part === 'node_modules'),
    )
    .sort();
}

/**
 * Definition files compiled to JavaScript (the CLI's bundle has no TypeScript loader): the URL to
 * import for each file, and how to turn compiled locations in an error's stack back into the
 * files' own. A syntax error is thrown by the compiler, its message naming "file:line:col".
 */
export interface CompiledDefinitions {
  readonly urls: ReadonlyMap<string, string>;
  sourceLocations(text: string): string;
}

export type DefinitionsCompiler = (
  root: string,
  files: readonly string[],
) => Promise<CompiledDefinitions>;

/**
 * Imports every definition file and collects the definitions each exports (directly or in an
 * exported array). Without `compile`, TypeScript files need a TS-aware loader in the process
 * (tsx in the CDK app and the CLI from its sources, vitest in tests); either way all files share
 * one module cache, so an entity imported by several files is one object.
 */
export async function loadDefinitions(
  dir: string,
  options: { compile?: DefinitionsCompiler } = {},
): Promise<LocatedDefinition[]> {
  const root = path.resolve(dir);
  const files = await listDefinitionFiles(root);
  if (files.length === 0) {
    throw new DefinitionsLoadError(
      `definitions folder ${dir} has no .ts or .js files`,
      'add a file that exports defineEntity/defineSource/defineFeatureView/defineFeatureService results',
    );
  }
  let compiled: CompiledDefinitions | undefined;
  if (options.compile) {
    try {
      compiled = await options.compile(root, files);
    } catch (error) {
      throw await loadError(error, root, files, undefined);
    }
  }
  const located: LocatedDefinition[] = [];
  for (const file of files) {
    let exports: Record<string, unknown>;
    try {
      exports = (await import(
        compiled?.urls.get(file) ?? pathToFileURL(path.join(root, file)).href
      )) as Record<string, unknown>;
    } catch (error) {
      if (compiled && error instanceof Error && error.stack)
        error.stack = compiled.sourceLocations(error.stack);
      throw await loadError(error, root, files, file);
    }
    for (const value of Object.values(exports)) {
      for (const candidate of Array.isArray(value) ? value : [value]) {
        if (!isDefinition(candidate)) continue;
        located.push({ definition: candidate, file });
        // The lookup Lambda's bundle injects this file to run the very transform (serving-api).
        if (isOnDemandView(candidate)) registerTransformFile(candidate.name, path.join(root, file));
      }
    }
  }
  return located;
}

/**
 * The error to report for a definitions folder that failed to compile (`file` undefined) or a
 * file that failed to import. It may come from a file this one imports (services.ts importing
 * views.ts).
 */
async function loadError(
  error: unknown,
  root: string,
  files: readonly string[],
  file: string | undefined,
): Promise<Error> {
  const located = originFile(error, root, files);
  const origin = located?.file ?? file;
  if (error instanceof DefinitionError && origin !== undefined)
    return error.withFile(origin, located?.line);
  const where =
    origin === undefined
      ? `definitions folder ${root}`
      : origin === file || file === undefined
        ? origin
        : `${origin} (imported by ${file})`;
  const misspelled =
    origin === undefined ? '' : await misspelledName(error, path.join(root, origin));
  return new DefinitionsLoadError(
    `${where} failed to load: ${summarize(error, root, origin ?? '')}${misspelled}`,
    loadHint(error),
    { cause: error },
  );
}

/**
 * The definitions file an import error was raised in, and the line: the first definitions file
 * named in its stack (thrown errors; for a DefinitionError that frame is the defineX call, since
 * tsx and vitest map stacks to the source) or message (syntax errors), or undefined when none is.
 */
function originFile(
  error: unknown,
  root: string,
  files: readonly string[],
): { file: string; line: number } | undefined {
  if (!(error instanceof Error)) return undefined;
  const text = stripVTControlCharacters(`${error.message}\n${error.stack ?? ''}`);
  for (const match of text.matchAll(
    /(?:file:\/\/)?([^\s()[\]'"`]+\.(?:ts|mts|js|mjs)):(\d+):\d+/g,
  )) {
    const candidate = match[1] ?? '';
    const line = Number(match[2]);
    const absolute = path.resolve(
      candidate.startsWith('/') ? candidate : path.join(root, candidate),
    );
    const relative = path.relative(root, absolute).split(path.sep).join('/');
    if (files.includes(relative)) return { file: relative, line };
    const fromCwd = path.relative(root, path.resolve(candidate)).split(path.sep).join('/');
    if (files.includes(fromCwd)) return { file: fromCwd, line };
  }
  return undefined;
}

/**
 * `; did you mean "x"?` for a ReferenceError (`custmer_profile is not defined`, e.g. a misspelled
 * view in a service's features): the closest identifier written in the file, or '' when none is.
 */
async function misspelledName(error: unknown, file: string): Promise<string> {
  if (!(error instanceof ReferenceError)) return '';
  const name = /^(\S+) is not defined$/.exec(error.message)?.[1];
  if (name === undefined) return '';
  const text = await readFile(file, 'utf8').catch(() => '');
  return didYouMean(name, new Set(text.match(/[A-Za-z_$][\w$]*/g) ?? []));
}

/**
 * One line saying what went wrong. Syntax errors come from esbuild (tsx: "file:1:5: ERROR: ...")
 * or from vite's parser (vitest: "[PARSE_ERROR] ..." with the location on another line);
 * both become "file:line:col: ERROR: message".
 */
function summarize(error: unknown, root: string, file: string): string {
  const text =
    error instanceof Error
      ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
      : String(error);
  const lines = stripVTControlCharacters(text)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const esbuildLine = lines.find((line) => line.includes('ERROR:'));
  if (esbuildLine) return esbuildLine.replaceAll(`${root}${path.sep}`, '');
  const parseLine = lines.find((line) => /\[[A-Z_]*ERROR\]/.test(line));
  const location = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+`).exec(
    text,
  )?.[0];
  if (parseLine && location)
    return `${location}: ERROR: ${parseLine.replace(/^\[[A-Z_]*ERROR\]\s*/, '')}`;
  return (lines[0] ?? text).replaceAll(`${root}${path.sep}`, '');
}

function loadHint(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (message.includes('require() ES Module') || message.includes('ERR_REQUIRE')) {
    return 'definition files are ES modules: add "type": "module" to the package.json next to them, or name them .mts';
  }
  return 'fix the error in that file (run with --verbose for the stack trace)';
}
