import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { RuntimeRegistry } from '../registry/runtime-projection.ts';

/**
 * The AWS SDK packages a bundle leaves out: the credential providers that the SDK's default
 * chain imports (dynamically) only when the environment holds no credentials. Lambda always
 * sets them (AWS_ACCESS_KEY_ID ...), so on Lambda these are never loaded; were they needed, the
 * runtime's own SDK provides them. With them go the STS/SSO clients they use.
 */
export const lazyAwsSdkModules = [
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
] as const;

/**
 * How fstore's Lambda bundles are built: minified ESM for Node.js 24 with source maps, and the
 * compiled registry as the `FSTORE_REGISTRY` constant (so a cold start reads no files).
 * The AWS SDK a function imports is bundled, tree-shaken to its clients and commands, rather
 * than loaded from the runtime: one minified file parses faster than the hundreds of SDK module
 * files the runtime's copy is made of (as AWS recommends for cold start). The materializer
 * carries the SDK that way; the lookup carries none: it reads through its own signed
 * BatchGetItem client (lib/online/dynamodb-batch-get), since the SDK's DynamoDB client was most
 * of its cold start. Measured by `bench:online` (median of 10 fresh processes, busy 2-core
 * machine; bench/README.md): lookup module init 396 ms CPU with the runtime's SDK, 176 ms with
 * it bundled (338 KiB), and about half of that without it (136 KiB).
 * Only `lazyAwsSdkModules` stay external. The bundle also runs on the SDK version it was tested
 * with. The maps carry positions only, not the sources (the repository has them); with
 * `--enable-source-maps` Node reads and parses the map at cold start, which is why the lookup
 * function does not set it. Names are kept through minifying (`keepNames`), so an error's class
 * name (Lambda's `errorType`, the logs) reads `OnlineStoreUnavailableError`, not a minified `it`.
 */
export function registryBundling(registry: RuntimeRegistry): nodejs.BundlingOptions {
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
    externalModules: [...lazyAwsSdkModules],
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
