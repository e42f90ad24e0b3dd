import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { lookupBundling } from '../../lib/constructs/serving-api.ts';
import { compileRegistry, loadDefinitions } from '../../lib/registry/index.ts';
import { makeTempDir, repoRoot } from '../helpers/run-fstore.ts';
import { invokeBundle } from './bundle-assets.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const marker = 'transform-marker-7c1f';

/** A definitions folder with an online view, an on-demand view over it and a service. */
async function definitionsFolder(): Promise<string> {
  const dir = await makeTempDir('on-demand-defs');
  dirs.push(dir);
  const lib = path.join(repoRoot, 'lib/definitions/index.ts');
  await writeFile(
    path.join(dir, 'defs.ts'),
    `import { defineEntity, defineFeatureService, defineFeatureView, defineOnDemandView, defineSource } from ${JSON.stringify(lib)};
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({ name: 'profiles', schema: { customer_id: 'string', monthly: 'float64', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const profile = defineFeatureView({ name: 'profile', entities: [customer], source: profiles, features: { monthly: 'float64' }, online: true, schedule: 'rate(1 hour)' });
export const ratio = defineOnDemandView({
  name: 'spend_ratio',
  request: { basket: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { ratio: 'float64', note: 'string' },
  transform: (row) => ({ ratio: row.monthly ? row.basket / row.monthly : null, note: '${marker}' }),
});
export const checkout = defineFeatureService({ name: 'checkout', features: [ratio] });
`,
  );
  return dir;
}

describe('the lookup bundle of a registry with an on-demand view', () => {
  it('injects the definitions file that exports the view, so the function runs the author’s transform', async () => {
    const registry = compileRegistry(await loadDefinitions(await definitionsFolder()));
    const options = lookupBundling(registry);
    expect(options.inject).toEqual([expect.stringMatching(/defs\.ts$/)]);
    const dir = await makeTempDir('on-demand-bundle');
    dirs.push(dir);
    const bundle = path.join(dir, 'index.mjs');
    await build({
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
      inject: [...(options.inject ?? [])],
      logLevel: 'silent',
    });
    await writeFile(path.join(dir, 'package.json'), '{"type":"module"}');
    expect(await readFile(bundle, 'utf8')).toContain(marker);

    // A request value missing is refused before any read: the bundle knows the view's fields.
    const { results } = await invokeBundle(
      bundle,
      {
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        TABLE_NAME: 'fstore-test-online',
      },
      [
        {
          rawPath: '/v1/features/checkout',
          requestContext: { http: { method: 'POST' } },
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ entities: [{ customer_id: 'C1' }] }),
        },
      ],
    );
    const response = (results[0] as { response: { statusCode: number; body: string } }).response;
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error.details.path).toBe('$.entities[0].basket');
  }, 180_000);

  it('bundles nothing extra for a registry without on-demand views', async () => {
    const registry = compileRegistry(await loadDefinitions(`${repoRoot}/feature-defs`));
    expect(lookupBundling(registry).inject).toBeUndefined();
  });
});
