#!/usr/bin/env node
// Entry point of `npx fstore`. Runs the CLI from its prebuilt bundle (bin/cli-bundle.mjs, built
// by `npm ci` or `npm run build:cli`) when the bundle was built from the sources as they are;
// otherwise, or with FSTORE_CLI_SOURCES=1, registers tsx and runs the TypeScript sources,
// saying why on stderr. From the bundle, the user's feature-defs/*.ts are compiled by esbuild
// into a content-keyed cache (bin/definitions-cache.mjs) when a command loads them; from the
// sources, tsx imports them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freshCliBundle, repoRoot } from './cli-bundle.mjs';

const sourceDefinitionsDir = path.join(repoRoot, 'lib', 'definitions');
const bundledDefinitionsDir = (dir) => path.join(dir, 'lib', 'definitions');
const definitionsCacheRoot = path.join(repoRoot, 'node_modules', '.cache', 'fstore-defs');

// The AWS SDK warns once per process that its releases after January 2027 need Node 22; that
// is not news a user of this CLI can act on. The SDK emits it as a plain `Warning` whose
// message starts with "NodeVersionSupportWarning" (so `warning.name` cannot tell it apart):
// drop it by its message, and print every other warning the way Node does.
const isSdkNodeVersionWarning = (warning) =>
  warning.name === 'NodeVersionSupportWarning' ||
  String(warning.message).trimStart().startsWith('NodeVersionSupportWarning');
const warningsSilenced =
  process.env.NODE_NO_WARNINGS === '1' || process.execArgv.includes('--no-warnings');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warningsSilenced || isSdkNodeVersionWarning(warning)) return;
  const code = warning.code ? `[${warning.code}] ` : '';
  process.stderr.write(`(node:${process.pid}) ${code}${warning.name}: ${warning.message}\n`);
});

// `fstore list | head` (or a parent that died) closes the pipe before the CLI is done writing:
// that is the reader saying it has enough, not a failure to report with a stack trace. The
// command goes on to its end, its output dropped: leaving mid-query (an exit, or an uncaught
// EPIPE on stderr) hung in DuckDB's teardown, deaf to SIGTERM, and left its file unwritten.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (error) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });

const fromSources = process.env.FSTORE_CLI_SOURCES === '1';
const bundle = fromSources ? undefined : freshCliBundle();

if (bundle?.dir) {
  // Stack traces (--verbose) name the TypeScript sources, not the bundle's chunks.
  if (process.argv.includes('--verbose')) process.setSourceMapsEnabled(true);
  // The user's feature-defs are compiled by esbuild into a cache (lib/cli/context.ts calls this).
  globalThis[Symbol.for('fstore.cli.compileDefinitions')] = async (root, files) => {
    const { compiledDefinitions } = await import('./definitions-cache.mjs');
    return compiledDefinitions({
      root,
      files,
      definitions: {
        sourceDir: sourceDefinitionsDir,
        bundleDir: bundledDefinitionsDir(bundle.dir),
      },
      cacheRoot: definitionsCacheRoot,
    });
  };
  const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const { runCli } = await import(
    pathToFileURL(path.join(bundle.dir, 'lib', 'cli', 'run-cli.mjs')).href
  );
  process.exitCode = await runCli(process.argv, version, { exitsAfter: true });
} else {
  if (bundle?.reason)
    process.stderr.write(
      `fstore: running from the TypeScript sources (slower start-up): ${bundle.reason}; \`npm run build:cli\` rebuilds it\n`,
    );
  // Both of tsx's hooks, as the `tsx` command (the CDK app) registers them: with the ESM hook
  // alone, a definitions .ts file in a folder without "type": "module" went to Node's CommonJS
  // loader, which refused it ("Cannot require() ES Module defs.ts in a cycle").
  const [{ register: registerEsm }, { register: registerCjs }] = await Promise.all([
    import('tsx/esm/api'),
    import('tsx/cjs/api'),
  ]);
  registerCjs();
  registerEsm();
  await import('./fstore.ts');
}
