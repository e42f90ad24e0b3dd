#!/usr/bin/env node
// Entry point of `npx fstore`: registers tsx so the CLI and the user's feature-defs/*.ts
// load as TypeScript without a build step, then runs the CLI.
import { register } from 'tsx/esm/api';

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

register();
await import('./fstore.ts');
