// `npm run build:cli`: builds the CLI's bundle (bin/cli-bundle.mjs). `npm ci` runs it as
// prepare with --if-possible: a failed build leaves the CLI on its TypeScript sources (it says
// so at each start) instead of failing the install.
import { performance } from 'node:perf_hooks';
import { buildCliBundle, freshCliBundle } from '../bin/cli-bundle.mjs';

const ifPossible = process.argv.includes('--if-possible');
const started = performance.now();
try {
  const dir = await buildCliBundle();
  const check = freshCliBundle();
  if (!check.dir) throw new Error(`the bundle just built is not fresh: ${check.reason}`);
  console.log(`fstore CLI bundle built in ${Math.round(performance.now() - started)} ms: ${dir}`);
} catch (error) {
  console.error(`fstore CLI bundle not built: ${error instanceof Error ? error.message : error}`);
  if (!ifPossible) process.exit(1);
  console.error('the CLI will run from its TypeScript sources (slower start-up)');
}
