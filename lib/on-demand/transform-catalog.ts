import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { TransformFunction } from './transform-values.ts';

// esbuild is loaded only when a hash is needed: the lookup Lambda finds transforms by view name
// and never hashes, so its bundle carries no esbuild.
const requireHere = createRequire(import.meta.url);

/**
 * The transforms of the on-demand views this process has defined, by view name. The registry
 * is JSON and cannot carry functions: defineOnDemandView enters each transform here, so a
 * runtime that imported the definitions (the local server and CLI through loadDefinitions, the
 * lookup Lambda through the definition files its bundle injects) runs the very function the
 * author wrote. Kept on globalThis, so a second copy of this module (a bundled CLI importing
 * definitions compiled apart) shares the catalog.
 */
interface Entry {
  readonly transform: TransformFunction;
  readonly source: string;
  /** transformSourceHash(source), computed when first asked for. */
  hash?: string;
  /** Absolute path of the definitions file that exported the view, once loadDefinitions saw it. */
  file?: string;
}

const catalogKey = Symbol.for('fstore.onDemandTransforms');

function catalog(): Map<string, Entry> {
  const holder = globalThis as Record<symbol, Map<string, Entry> | undefined>;
  let found = holder[catalogKey];
  if (!found) {
    found = new Map();
    holder[catalogKey] = found;
  }
  return found;
}

/**
 * The registry's hash of a transform's source text, taken after minifying it with esbuild, so
 * the loader that compiled the definitions does not change it: tsx minifies whitespace, the
 * CLI's bundle keeps it (`row=>({...})` and `(row) => ({ ... })` hash alike). Comments and
 * layout are not part of the hash; a new esbuild version may change it once.
 */
export function transformSourceHash(source: string): string {
  return createHash('sha256')
    .update(JSON.stringify(minifiedSource(source)))
    .digest('hex')
    .slice(0, 16);
}

function minifiedSource(source: string): string {
  const { transformSync } = requireHere('esbuild') as typeof import('esbuild');
  // An arrow or function expression parses in parentheses, a method (`transform(row) {}`) in
  // braces; exported, since minifying drops an unused expression.
  for (const wrapped of [`export default (${source});`, `export default {${source}};`]) {
    try {
      return transformSync(wrapped, { loader: 'js', minify: true }).code;
    } catch {
      // not this form; try the next
    }
  }
  return source;
}

export function registerTransform(
  view: string,
  transform: TransformFunction,
  source: string,
): void {
  catalog().set(view, { transform, source });
}

export function registerTransformFile(view: string, file: string): void {
  const entry = catalog().get(view);
  if (entry) entry.file ??= file;
}

/**
 * The transform of on-demand view `view`; with `hash`, only when its source text hashes to it
 * (a registry applied by another process after this one loaded its definitions may differ).
 * The lookup Lambda asks without a hash: its bundle's registry and its injected definitions come
 * from one synthesis, and minifying changes the source text.
 */
export function transformOf(view: string, hash?: string): TransformFunction | undefined {
  const entry = catalog().get(view);
  if (!entry) return undefined;
  if (hash === undefined) return entry.transform;
  entry.hash ??= transformSourceHash(entry.source);
  return entry.hash === hash ? entry.transform : undefined;
}

/** The definitions files exporting these on-demand views, for a bundle to inject. */
export function transformFiles(views: readonly string[]): string[] {
  return views.map((view) => {
    const file = catalog().get(view)?.file;
    if (file === undefined)
      throw new Error(
        `on-demand view "${view}": no definitions file exported it in this process, so its transform cannot be bundled; export it from a file under the definitions folder`,
      );
    return file;
  });
}
