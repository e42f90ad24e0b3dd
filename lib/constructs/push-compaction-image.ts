import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { RuntimeRegistry } from '../registry/runtime-projection.ts';
import { lazyAwsSdkModules, projectFiles } from './function-defaults.ts';

const entry = fileURLToPath(new URL('../../lambdas/push-compaction/index.ts', import.meta.url));
const dockerfile = fileURLToPath(
  new URL('../../lambdas/push-compaction/Dockerfile', import.meta.url),
);
/** Loaded from the image's node_modules: DuckDB's native addon cannot be bundled. */
const nativePackage = '@duckdb/node-api';

/**
 * Writes the push-compaction image's build context into `dir` and returns it: the handler
 * bundled here by the local esbuild with the options of every other function
 * (`registryBundling`: minified ESM for Node.js 24, source map, the registry compiled in as
 * `FSTORE_REGISTRY`) but DuckDB left external, the Dockerfile, and a package.json and
 * package-lock.json naming only DuckDB and its dependencies at the versions and integrity hashes
 * of the repository's lock file, so `npm ci` in the image installs the native addon of the
 * image's platform (linux/arm64) and nothing else. The asset hash CDK takes of this folder
 * changes only when the bundle or the DuckDB version does. With `bundle: false` (CDK skips
 * bundling for this stack) the handler is left out.
 */
export function writePushCompactionContext(
  dir: string,
  registry: RuntimeRegistry,
  options: { readonly bundle: boolean } = { bundle: true },
): string {
  return writeDuckdbFunctionContext(dir, {
    entry,
    dockerfile,
    name: 'fstore-push-compaction',
    define: { FSTORE_REGISTRY: JSON.stringify(registry) },
    bundle: options.bundle,
  });
}

/**
 * The build context of a container-image function that loads DuckDB's native addon, as
 * writePushCompactionContext describes: `entry` bundled with DuckDB external (and `define`),
 * `dockerfile`, and a package.json/package-lock.json named `name` holding only DuckDB.
 */
export function writeDuckdbFunctionContext(
  dir: string,
  options: {
    readonly entry: string;
    readonly dockerfile: string;
    readonly name: string;
    readonly define?: Readonly<Record<string, string>>;
    readonly bundle: boolean;
  },
): string {
  mkdirSync(dir, { recursive: true });
  // Skipped as CDK skips NodejsFunction bundling (`aws:cdk:bundling-stacks`): nothing deploys it.
  if (options.bundle)
    buildSync({
      entryPoints: [options.entry],
      outfile: path.join(dir, 'index.mjs'),
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'esm',
      minify: true,
      keepNames: true,
      sourcemap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      ...(options.define ? { define: { ...options.define } } : {}),
      external: [...lazyAwsSdkModules, nativePackage],
      logLevel: 'silent',
    });
  copyFileSync(options.dockerfile, path.join(dir, 'Dockerfile'));
  const { manifest, lock } = nativeDependencyLock(projectFiles.depsLockFilePath, options.name);
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  return dir;
}

interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
}

/**
 * A package.json depending on DuckDB only, and the part of the repository's lock file it needs:
 * DuckDB's entry and, transitively, every (optional) dependency's, as hoisted at the top level.
 */
export function nativeDependencyLock(lockFile: string, name = 'fstore-push-compaction') {
  const full = JSON.parse(readFileSync(lockFile, 'utf8')) as {
    lockfileVersion: number;
    packages: Record<string, LockEntry>;
  };
  const version = full.packages[`node_modules/${nativePackage}`]?.version;
  if (!version) throw new Error(`${lockFile} has no ${nativePackage}: run npm ci`);
  const packages: Record<string, LockEntry> = {};
  const pending = [nativePackage];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const key = `node_modules/${name}`;
    const found = full.packages[key];
    if (packages[key] || !found) continue;
    packages[key] = found;
    pending.push(...Object.keys({ ...found.dependencies, ...found.optionalDependencies }));
  }
  const manifest = {
    name,
    private: true,
    type: 'module',
    dependencies: { [nativePackage]: version },
  };
  return {
    manifest,
    lock: {
      name: manifest.name,
      lockfileVersion: full.lockfileVersion,
      requires: true,
      packages: { '': { name: manifest.name, dependencies: manifest.dependencies }, ...packages },
    },
  };
}
