// The user's feature-defs, compiled by esbuild into node_modules/.cache/fstore-defs/<key> and
// imported from there when the CLI runs from its bundle: registering tsx for them cost ~0.4 s
// CPU and a loader-hooks worker on every run. <key> is the sha256 of the definition files'
// names and text, the bundle's lib/definitions and esbuild's version; the folder's manifest lists
// every input esbuild read (local modules the definitions import too), so an edit of any of them
// rebuilds. Imports of lib/definitions become the bundle's copy (one DefinitionError, one zod);
// packages stay external, resolved from the definitions' own folder, and the manifest lists each
// one's resolved file and package.json, so an upgrade rebuilds. Plain JavaScript: it runs
// outside the bundle, beside bin/cli-bundle.mjs.
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { changedSinceRead, recordReadStats } from './esbuild-read-stats.mjs';

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const manifestName = 'manifest.json';
/** A change of how definitions are compiled (these files) is a change of every key. */
const compilerHash = sha256(
  [import.meta.url, new URL('./esbuild-read-stats.mjs', import.meta.url)]
    .map((url) => readFileSync(fileURLToPath(url), 'utf8'))
    .join('\0'),
);
/** Folders of other definition texts kept; older ones are removed after a build. */
const keptBuilds = 20;
/** A folder replaced by a rebuild stays this long: a CLI may still be importing from it. */
const keepReplacedMs = 60 * 60 * 1000;

/**
 * Compiles the definition files `files` (paths relative to `root`) unless an up-to-date build
 * is cached, and returns { urls: Map<file, url of its compiled module>, sourceLocations }.
 * `sourceLocations(text)` turns compiled locations in an error's text (its stack) back into
 * the definitions' own files and lines. A syntax error throws esbuild's error, whose message has
 * one "file:line:column: ERROR: text" line per error, file relative to `root`.
 * `definitions`: { sourceDir, bundleDir }: lib/definitions of the sources and of the bundle.
 */
export async function compiledDefinitions({ root, files, definitions, cacheRoot }) {
  const key = sha256(
    JSON.stringify({
      compilerHash,
      esbuild: esbuildVersion(),
      root,
      definitions,
      files: files.map((file) => [file, sha256(readFileSync(path.join(root, file)))]),
    }),
  );
  const dir = path.join(cacheRoot, key);
  const manifest = upToDateManifest(dir);
  const built = manifest ?? (await build({ root, files, definitions, cacheRoot, dir }));
  const urls = new Map(
    files.map((file) => [file, pathToFileURL(path.join(dir, built.outputs[file])).href]),
  );
  return { urls, sourceLocations: (text) => sourceLocations(text, dir) };
}

function esbuildVersion() {
  const packageJson = fileURLToPath(import.meta.resolve('esbuild/package.json'));
  return JSON.parse(readFileSync(packageJson, 'utf8')).version;
}

/** The cached build's manifest when every input it read is as it was, else undefined. */
function upToDateManifest(dir) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, manifestName), 'utf8'));
  } catch {
    return undefined;
  }
  for (const [file, built] of Object.entries(manifest.inputs ?? {})) {
    let info;
    try {
      info = statSync(file);
    } catch {
      return undefined;
    }
    if (info.size === built.size && info.mtimeMs === built.mtimeMs) continue;
    if (info.size !== built.size || sha256(readFileSync(file)) !== built.sha256) return undefined;
  }
  return manifest;
}

async function build({ root, files, definitions, cacheRoot, dir }) {
  const { build: esbuild } = await import('esbuild');
  mkdirSync(cacheRoot, { recursive: true });
  const staging = path.join(cacheRoot, `build-${process.pid}-${Date.now()}`);
  const readStats = new Map();
  const packageFiles = new Set();
  const result = await esbuild({
    absWorkingDir: root,
    entryPoints: files.map((file) => path.join(root, file)),
    outdir: staging,
    outbase: root,
    bundle: true,
    // One module per shared file, so an entity imported by several definition files is one object.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: '_chunks/[name]-[hash]',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [recordReadStats(readStats), externalImports(definitions, packageFiles)],
  }).catch((error) => {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  });
  const inputs = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = path.resolve(root, input);
    const text = readFileSync(file);
    const info = statSync(file);
    if (changedSinceRead(readStats, file, info)) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(`${input} changed while the definitions were being compiled; run again`);
    }
    inputs[file] = { size: info.size, mtimeMs: info.mtimeMs, sha256: sha256(text) };
  }
  // A package stays an import of its resolved file: an upgrade that moves or edits it rebuilds.
  for (const file of packageFiles) {
    const info = statSync(file);
    inputs[file] = { size: info.size, mtimeMs: info.mtimeMs, sha256: sha256(readFileSync(file)) };
  }
  const outputs = {};
  for (const [output, { entryPoint }] of Object.entries(result.metafile.outputs)) {
    if (entryPoint === undefined) continue;
    const source = path.relative(root, path.resolve(root, entryPoint)).split(path.sep).join('/');
    outputs[source] = path.relative(staging, path.resolve(root, output)).split(path.sep).join('/');
  }
  const manifest = { builtAt: new Date().toISOString(), root, inputs, outputs };
  writeFileSync(path.join(staging, manifestName), `${JSON.stringify(manifest, null, 1)}\n`);
  install(staging, dir, cacheRoot);
  return manifest;
}

/** Moves `staging` to `dir`; a stale `dir` is renamed aside first and removed an hour later. */
function install(staging, dir, cacheRoot) {
  try {
    renameSync(dir, path.join(cacheRoot, `replaced-${process.pid}-${Date.now()}`));
  } catch (error) {
    // No stale build, or another CLI rebuilding it renamed it aside first.
    if (error.code !== 'ENOENT') throw error;
  }
  try {
    renameSync(staging, dir);
  } catch (error) {
    // Another CLI installed the same build meanwhile: its copy serves as well.
    if (!existsSync(dir)) throw error;
    rmSync(staging, { recursive: true, force: true });
  }
  removeOldBuilds(cacheRoot, path.basename(dir));
}

function removeOldBuilds(cacheRoot, kept) {
  const entries = readdirSync(cacheRoot).flatMap((name) => {
    try {
      return [{ name, mtimeMs: lstatSync(path.join(cacheRoot, name)).mtimeMs }];
    } catch {
      return [];
    }
  });
  const now = Date.now();
  const builds = entries
    .filter((e) => /^[0-9a-f]{64}$/.test(e.name) && e.name !== kept)
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  const leftovers = entries.filter(
    (e) => /^(build|replaced)-/.test(e.name) && now - e.mtimeMs > keepReplacedMs,
  );
  for (const { name } of [...builds.slice(keptBuilds - 1), ...leftovers])
    rmSync(path.join(cacheRoot, name), { recursive: true, force: true });
}

/**
 * An esbuild plugin: lib/definitions resolves to the bundle's copy, packages to their file in
 * the node_modules the definitions see; both stay imports (external), as under tsx. Each
 * package's resolved file and its package.json are added to `packageFiles`.
 */
function externalImports({ sourceDir, bundleDir }, packageFiles) {
  const resolving = Symbol('fstore external import');
  return {
    name: 'fstore-external-imports',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === resolving || args.kind === 'entry-point') return undefined;
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: resolving,
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external || !path.isAbsolute(resolved.path))
          return { path: resolved.path, external: resolved.external };
        const inDefinitions = path.relative(sourceDir, resolved.path);
        if (!inDefinitions.startsWith('..') && !path.isAbsolute(inDefinitions)) {
          const bundled = path.join(bundleDir, inDefinitions.replace(/\.m?ts$/, '.mjs'));
          // A module the bundle lacks (added since its build) is compiled in from the sources.
          if (existsSync(bundled)) return { path: pathToFileURL(bundled).href, external: true };
          return { path: resolved.path };
        }
        if (resolved.path.split(path.sep).includes('node_modules')) {
          packageFiles.add(resolved.path);
          const packageJson = nearestPackageJson(resolved.path);
          if (packageJson) packageFiles.add(packageJson);
          return { path: pathToFileURL(resolved.path).href, external: true };
        }
        return { path: resolved.path };
      });
    },
  };
}

function nearestPackageJson(file) {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const compiledLocation = /(file:\/\/[^\s()'"`]+?\.mjs):(\d+):(\d+)/g;

/** `text` with each location in a compiled module of `dir` replaced by its source location. */
function sourceLocations(text, dir) {
  const dirUrl = `${pathToFileURL(dir).href}/`;
  const maps = new Map();
  return text.replace(compiledLocation, (whole, url, line, column) => {
    if (!url.startsWith(dirUrl)) return whole;
    if (!maps.has(url)) maps.set(url, readSourceMap(url));
    const map = maps.get(url);
    const entry = map?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry?.originalSource) return whole;
    const source = new URL(entry.originalSource, url).href;
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

function readSourceMap(url) {
  try {
    return new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8')));
  } catch {
    return undefined;
  }
}
