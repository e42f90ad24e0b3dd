import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { lazyAwsSdkModules, registryBundling } from '../../lib/constructs/function-defaults.ts';
import { compileRegistry, loadDefinitions } from '../../lib/registry/index.ts';
import { makeTempDir, repoRoot } from '../helpers/run-fstore.ts';
import { invokeBundle } from './bundle-assets.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The lookup entry built with the Lambda bundling options, as NodejsFunction builds it. */
async function buildLookup(): Promise<{ bundle: string; metafile: Metafile }> {
  const options = registryBundling(
    compileRegistry(await loadDefinitions(`${repoRoot}/feature-defs`)),
  );
  const dir = await makeTempDir('lookup-bundle-sdk');
  dirs.push(dir);
  const bundle = path.join(dir, 'index.mjs');
  const { metafile } = await build({
    entryPoints: [path.join(repoRoot, 'lambdas/online-lookup/index.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    minify: options.minify,
    keepNames: options.keepNames,
    target: options.target,
    mainFields: options.mainFields,
    banner: { js: options.banner ?? '' },
    define: options.define,
    external: options.externalModules,
    metafile: true,
    logLevel: 'silent',
  });
  await writeFile(path.join(dir, 'package.json'), '{"type":"module"}');
  return { bundle, metafile };
}

describe('the lookup bundle and the AWS SDK', () => {
  it('carries no AWS SDK code (its BatchGetItem client is fstore’s own), so it loads and answers with no node_modules beside it', async () => {
    const { bundle, metafile } = await buildLookup();
    // What reached the output: esbuild also lists inputs it parsed and then shook out entirely.
    const inputs = Object.values(metafile.outputs).flatMap((output) =>
      Object.entries(output.inputs)
        .filter(([, used]) => used.bytesInOutput > 0)
        .map(([file]) => file),
    );
    expect(inputs.filter((f) => /node_modules\/(@aws-sdk|@smithy)\//.test(f))).toEqual([]);
    expect(inputs).toContain('lib/online/dynamodb-batch-get/signed-batch-get.ts');
    // The folder has no node_modules: a module left external would fail the import.
    const { results } = await invokeBundle(
      bundle,
      {
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        TABLE_NAME: 'fstore-test-online',
      },
      [{ rawPath: '/v1/health', requestContext: { http: { method: 'GET' } } }],
    );
    expect(results[0]).toMatchObject({ response: { statusCode: 200 } });
  }, 120_000);

  it('stays within the 150 KB that issue 15 set for its size, minified', async () => {
    const { bundle } = await buildLookup();
    expect((await stat(bundle)).size).toBeLessThanOrEqual(150 * 1024);
  }, 120_000);

  it('leaves out the credential providers Lambda never reaches (it sets credentials in the environment)', async () => {
    const { metafile } = await buildLookup();
    const bundled = Object.keys(metafile.inputs).filter((f) =>
      lazyAwsSdkModules.some((m) => f.includes(`node_modules/${m}/`)),
    );
    expect(bundled).toEqual([]);
    expect(Object.keys(metafile.inputs).some((f) => f.includes('@aws-sdk/nested-clients'))).toBe(
      false,
    );
  }, 120_000);
});
