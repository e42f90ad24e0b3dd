// Module hooks (node:module register) for feature-defs loaded while the CLI runs from its
// bundle: an import that resolves to a module of lib/definitions gets the bundle's copy of it,
// so the definitions, the DefinitionError class and zod are the objects the CLI itself uses.
// Registered after tsx, so it runs first and sees tsx's resolution (extensionless, .js -> .ts).
import { existsSync } from 'node:fs';

let sourceUrl;
let bundleUrl;

export function initialize(data) {
  sourceUrl = data.sourceUrl;
  bundleUrl = data.bundleUrl;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(sourceUrl)) return resolved;
  const module = resolved.url.slice(sourceUrl.length).replace(/\?.*$/, '');
  if (!/\.m?ts$/.test(module)) return resolved;
  const bundled = `${bundleUrl}${module.replace(/\.m?ts$/, '.mjs')}`;
  // A module the bundle lacks (added since the build) loads from the sources, not as a failure.
  if (!existsSync(new URL(bundled))) return resolved;
  return {
    url: bundled,
    format: 'module',
    shortCircuit: true,
  };
}
