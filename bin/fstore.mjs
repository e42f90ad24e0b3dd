#!/usr/bin/env node
// Entry point of `npx fstore`. Runs the CLI from its prebuilt bundle (bin/cli-bundle.mjs, built
// by `npm ci` or `npm run build:cli`) when the bundle was built from the sources as they are;
// otherwise, or with FSTORE_CLI_SOURCES=1, registers tsx and runs the TypeScript sources,
// saying why on stderr. Either way the user's feature-defs/*.ts load through tsx, registered
// only when a command loads them (lib/cli/definition-imports.ts).
import { readFileSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  bundledDefinitionsUrl,
  freshCliBundle,
  repoRoot,
  sourceDefinitionsUrl,
} from './cli-bundle.mjs';

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

// `fstore list | head` closes the pipe before the CLI is done writing: that is the reader
// saying it has enough, as for any Unix tool, not a failure to report with a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const fromSources = process.env.FSTORE_CLI_SOURCES === '1';
const bundle = fromSources ? undefined : freshCliBundle();

if (bundle?.dir) {
  // Stack traces (--verbose) name the TypeScript sources, not the bundle's chunks.
  if (process.argv.includes('--verbose')) process.setSourceMapsEnabled(true);
  globalThis[Symbol.for('fstore.cli.prepareDefinitionImports')] = async () => {
    const { register } = await import('tsx/esm/api');
    register();
    registerHooks(new URL('./definitions-from-bundle-hooks.mjs', import.meta.url), {
      data: { sourceUrl: sourceDefinitionsUrl, bundleUrl: bundledDefinitionsUrl(bundle.dir) },
    });
  };
  const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const { runCli } = await import(
    pathToFileURL(path.join(bundle.dir, 'lib', 'cli', 'run-cli.mjs')).href
  );
  process.exitCode = await runCli(process.argv, version);
} else {
  if (bundle?.reason)
    process.stderr.write(
      `fstore: running from the TypeScript sources (slower start-up): ${bundle.reason}; \`npm run build:cli\` rebuilds it\n`,
    );
  const { register } = await import('tsx/esm/api');
  register();
  await import('./fstore.ts');
}
