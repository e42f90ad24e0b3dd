import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { registryBundling } from '../../lib/constructs/function-defaults.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('registryBundling', () => {
  it('keeps class names through minifying, so an error reads OnlineStoreUnavailableError in errorType and logs', async () => {
    const options = registryBundling({ views: [], services: [] } as never);
    const outdir = await mkdtemp(path.join(tmpdir(), 'fstore-bundle-names-'));
    dirs.push(outdir);
    const outfile = path.join(outdir, 'online-lookup.mjs');
    // The esbuild options CDK's NodejsFunction derives from these bundling options.
    await build({
      entryPoints: [path.resolve(import.meta.dirname, '../../lib/online/online-lookup.ts')],
      outfile,
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
      logLevel: 'silent',
    });
    const bundle = await import(pathToFileURL(outfile).href);
    expect(bundle.OnlineStoreUnavailableError.name).toBe('OnlineStoreUnavailableError');
  });
});
