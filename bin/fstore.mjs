#!/usr/bin/env node
// Entry point of `npx fstore`: registers tsx so the CLI and the user's feature-defs/*.ts
// load as TypeScript without a build step, then runs the CLI.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run that future releases need Node 22; that is not news to act on here.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'NodeVersionSupportWarning')
    process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

register();
await import('./fstore.ts');
