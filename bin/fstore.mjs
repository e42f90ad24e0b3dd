#!/usr/bin/env node
// Entry point of `npx fstore`: registers tsx so the CLI and the user's feature-defs/*.ts
// load as TypeScript without a build step, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./fstore.ts');
