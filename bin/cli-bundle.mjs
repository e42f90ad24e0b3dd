// The CLI's prebuilt bundle: lib/cli/run-cli.ts and every module of lib/definitions, bundled
// by esbuild into node_modules/.cache/fstore-cli/current (npm packages but zod left external, so
// DuckDB's native module and the AWS SDK load as they are, and only when a command imports them).
// Running the bundle skips tsx for the CLI's own ~200 modules; `npm ci` builds it (prepare).
// Plain JavaScript: it runs before any TypeScript loader.
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { changedSinceRead, recordReadStats, sizeAndMtime } from './esbuild-read-stats.mjs';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const bundleRoot = path.join(repoRoot, 'node_modules', '.cache', 'fstore-cli');
const currentDir = path.join(bundleRoot, 'current');
const manifestName = 'manifest.json';
const thisFile = fileURLToPath(import.meta.url);
/** The build's inputs besides the bundled sources: a change of how it is built is a change too. */
const buildFiles = [thisFile, fileURLToPath(new URL('./esbuild-read-stats.mjs', import.meta.url))];

const sha256OfText = (text) => createHash('sha256').update(text).digest('hex');
const sha256 = (file) => sha256OfText(readFileSync(file));
const relative = (file) => path.relative(repoRoot, file).split(path.sep).join('/');

/**
 * CommonJS packages the bundle loads with require (createRequire), not import: Node's ESM
 * loader pre-parses every file a CommonJS package is made of for its export names when ESM
 * imports it (cjs-module-lexer), ~0.25 s CPU of each training set for DuckDB's node API alone.
 * commander, cli-table3 and picocolors load at every start: each as one file, ~12 ms CPU less
 * for `fstore --version`.
 */
const requiredPackages = ['@duckdb/node-api', 'commander', 'cli-table3', 'picocolors'];
const requiredNamespace = 'fstore-required-package';

/**
 * ESM packages compiled into the bundle instead of imported from node_modules: zod is ~60
 * modules that Node's ESM loader resolved, read and linked one by one, ~0.05 s CPU of every
 * command that loads definitions (a 10-row training set's largest cost after DuckDB's).
 */
const inlinedPackages = ['zod'];

/** Old builds stay this long after a newer one replaces them: a running CLI loads chunks late. */
const keepReplacedBuildsMs = 60 * 60 * 1000;

/** The modules of lib/definitions: feature-defs import them, so each is an entry of its own. */
function definitionModules(root = repoRoot) {
  const dir = path.join(root, 'lib', 'definitions');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => path.join(dir, name));
}

const sortedRelative = (files, root) =>
  files.map((file) => path.relative(root, file).split(path.sep).join('/')).sort();

/**
 * Builds the bundle into a folder of its own, then points the `current` link at it in one
 * rename, so a CLI starting meanwhile sees the old bundle or the new, whole; a CLI already
 * running keeps its folder (it loads command chunks late) until the build after next an hour on.
 * A source edited while esbuild ran (size or mtime unlike just before esbuild read it) fails the
 * build: the bundle could hold the old text under the new text's hash. Returns the bundle's folder.
 */
export async function buildCliBundle() {
  const { build } = await import('esbuild');
  await mkdir(bundleRoot, { recursive: true });
  const readStats = new Map(buildFiles.map((file) => [file, sizeAndMtime(statSync(file))]));
  const staging = path.join(bundleRoot, `build-${process.pid}-${Date.now()}`);
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: [path.join(repoRoot, 'lib', 'cli', 'run-cli.ts'), ...definitionModules()],
    outdir: staging,
    outbase: repoRoot,
    bundle: true,
    // Each command stays a chunk of its own, loaded when it runs (lib/cli/command-index.ts).
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: '_chunks/[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    plugins: [recordReadStats(readStats), requireCommonJsPackages(), externalPackagesBut()],
  }).catch((error) => {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  });
  const vendored = await vendorRequiredPackages(build, staging).catch((error) => {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  });
  const inputs = {};
  for (const file of [
    ...Object.keys(result.metafile.inputs)
      .filter((input) => !input.startsWith(`${requiredNamespace}:`))
      .map((input) => path.join(repoRoot, input)),
    ...buildFiles,
    ...vendored,
  ]) {
    const text = readFileSync(file);
    const info = statSync(file);
    if (changedSinceRead(readStats, file, info)) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(`${relative(file)} changed while the bundle was being built`);
    }
    inputs[relative(file)] = { ...sizeAndMtime(info), sha256: sha256OfText(text) };
  }
  await writeFile(
    path.join(staging, manifestName),
    `${JSON.stringify(
      {
        builtAt: new Date().toISOString(),
        definitions: sortedRelative(definitionModules(), repoRoot),
        inputs,
      },
      null,
      1,
    )}\n`,
  );
  const link = path.join(bundleRoot, `link-${process.pid}-${Date.now()}`);
  symlinkSync(path.basename(staging), link, 'dir');
  // A `current` folder (not a link) is a bundle of the first layout: it cannot be renamed over.
  if (lstatSyncOrUndefined(currentDir)?.isDirectory()) rmSync(currentDir, { recursive: true });
  renameSync(link, currentDir);
  removeReplacedBuilds(path.basename(staging));
  return staging;
}

/** An esbuild plugin: every npm package stays external but those of inlinedPackages. */
function externalPackagesBut(inlined = inlinedPackages) {
  return {
    name: 'fstore-external-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (path.isAbsolute(args.path)) return undefined;
        const name = args.path.startsWith('@')
          ? args.path.split('/').slice(0, 2).join('/')
          : args.path.split('/')[0];
        return inlined.includes(name) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/**
 * An esbuild plugin: an import of a package of requiredPackages becomes a module that requires
 * it and exports its names (read from the package at build time), loaded where the import was.
 */
function requireCommonJsPackages() {
  const namespace = requiredNamespace;
  const requireHere = createRequire(import.meta.url);
  return {
    name: 'fstore-require-commonjs-packages',
    setup(build) {
      build.onResolve({ filter: /^[@a-z]/ }, (args) =>
        requiredPackages.includes(args.path) ? { path: args.path, namespace } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace }, (args) => {
        const names = Object.keys(requireHere(args.path)).filter(
          (name) => name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name),
        );
        return {
          contents: [
            "import { createRequire } from 'node:module';",
            `const required = createRequire(import.meta.url)(${JSON.stringify(args.path)});`,
            'export default required;',
            `export const { ${names.join(', ')} } = required;`,
          ].join('\n'),
          loader: 'js',
          resolveDir: repoRoot,
        };
      });
    },
  };
}

/**
 * Each package of requiredPackages bundled into one CommonJS file in the build's own
 * node_modules, where the bundle's `require` finds it first: DuckDB's node API is ~180 files,
 * and resolving, reading and compiling them one by one cost ~0.05 s CPU of every command that
 * opens DuckDB (its native bindings stay external, found in the project's node_modules).
 * Returns the package.json of each: an upgrade changes it, which makes the bundle stale.
 */
async function vendorRequiredPackages(build, staging) {
  const requireHere = createRequire(import.meta.url);
  const manifests = [];
  for (const name of requiredPackages) {
    const dir = path.join(staging, 'node_modules', ...name.split('/'));
    await build({
      entryPoints: [requireHere.resolve(name)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      outfile: path.join(dir, 'index.cjs'),
      logLevel: 'silent',
    });
    await writeFile(
      path.join(dir, 'package.json'),
      `${JSON.stringify({ name, private: true, main: 'index.cjs' })}\n`,
    );
    manifests.push(path.join(repoRoot, 'node_modules', ...name.split('/'), 'package.json'));
  }
  return manifests;
}

function lstatSyncOrUndefined(file) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

function removeReplacedBuilds(kept) {
  for (const name of readdirSync(bundleRoot)) {
    if (name === kept || !/^(build|link|previous)-/.test(name)) continue;
    const entry = path.join(bundleRoot, name);
    const info = lstatSyncOrUndefined(entry);
    if (info && Date.now() - info.mtimeMs > keepReplacedBuildsMs)
      rmSync(entry, { recursive: true, force: true });
  }
}

/**
 * The current bundle if it was built from the sources as they are now: `{ dir }`, or
 * `{ reason }` naming what is missing or changed. A source whose size and mtime match is taken
 * as unchanged; one whose mtime moved (a checkout) is compared by content.
 */
export function freshCliBundle({ dir: linked = currentDir, root = repoRoot } = {}) {
  let dir = linked;
  let manifest;
  try {
    // The build the link names now: a rebuild meanwhile does not move this CLI's files.
    dir = realpathSync(linked);
    manifest = JSON.parse(readFileSync(path.join(dir, manifestName), 'utf8'));
  } catch (error) {
    return {
      reason:
        error?.code === 'ENOENT'
          ? 'the CLI bundle is not built'
          : `the CLI bundle's manifest is unreadable (${error.message})`,
    };
  }
  const changed = [];
  for (const [file, built] of Object.entries(manifest.inputs ?? {})) {
    const absolute = path.join(root, file);
    let info;
    try {
      info = statSync(absolute);
    } catch {
      changed.push(`${file} (deleted)`);
      continue;
    }
    if (info.size === built.size && info.mtimeMs === built.mtimeMs) continue;
    if (info.size !== built.size || sha256(absolute) !== built.sha256) changed.push(file);
  }
  // A module added to lib/definitions is no input of the last build, yet feature-defs can import it.
  const built = new Set(manifest.definitions ?? []);
  for (const file of sortedRelative(definitionModules(root), root))
    if (!built.has(file)) changed.push(`${file} (added)`);
  if (changed.length === 0 && Object.keys(manifest.inputs ?? {}).length > 0) return { dir };
  if (changed.length === 0) return { reason: "the CLI bundle's manifest lists no sources" };
  const shown = changed.slice(0, 3).join(', ');
  return {
    reason: `the CLI bundle is older than its sources: ${shown}${changed.length > 3 ? ` and ${changed.length - 3} more` : ''} changed`,
  };
}
