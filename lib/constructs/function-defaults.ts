import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Registry } from '../registry/index.ts';

/**
 * How fstore's Lambda bundles are built: minified ESM for Node.js 24 with source maps, the
 * AWS SDK left to the runtime, and the compiled registry as the `FSTORE_REGISTRY` constant (so
 * a cold start reads no files). The maps carry positions only, not the sources (the
 * repository has them): with `--enable-source-maps` Node reads and parses the map at cold
 * start, and the lookup's map is 169 KB instead of 778 KB. Names are kept through minifying
 * (`keepNames`), so an error's class name (Lambda's `errorType`, the logs) reads
 * `OnlineStoreUnavailableError`, not a minified `it`.
 */
export function registryBundling(registry: Registry): nodejs.BundlingOptions {
  return {
    minify: true,
    keepNames: true,
    sourceMap: true,
    sourcesContent: false,
    target: 'node24',
    format: nodejs.OutputFormat.ESM,
    mainFields: ['module', 'main'],
    banner:
      "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    define: { FSTORE_REGISTRY: JSON.stringify(registry) },
    externalModules: ['@aws-sdk/*'],
  };
}

/** The repository root and lock file, for NodejsFunction. */
export const projectFiles = {
  projectRoot: path.dirname(fileURLToPath(new URL('../../package.json', import.meta.url))),
  depsLockFilePath: fileURLToPath(new URL('../../package-lock.json', import.meta.url)),
};

/** A CloudWatch retention of at least `days` (CloudWatch only offers some periods). */
export function retention(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays)
    .filter((v): v is logs.RetentionDays => typeof v === 'number' && v > 0)
    .sort((a, b) => a - b);
  return allowed.find((d) => d >= days) ?? logs.RetentionDays.ONE_YEAR;
}
