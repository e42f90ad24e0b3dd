/**
 * Makes the user's feature-defs importable before the registry loads them. From the sources,
 * the CLI already runs under tsx (and tests under vitest): nothing to do. From the bundle,
 * bin/fstore.mjs leaves a function here that registers tsx and points lib/definitions at the
 * bundle's copy; it runs once, by the first command that loads definitions, so commands that
 * load none (and `--version`, `--help`) never pay for tsx.
 */
const prepareKey = Symbol.for('fstore.cli.prepareDefinitionImports');

let prepared: Promise<void> | undefined;

export function prepareDefinitionImports(): Promise<void> {
  const prepare = (globalThis as Record<symbol, unknown>)[prepareKey];
  if (typeof prepare !== 'function') return Promise.resolve();
  prepared ??= (prepare as () => Promise<void>)();
  return prepared;
}
