/**
 * npx tsx bench/lookup-init-compare.ts [revision] — the lookup Lambda bundle's cold init at a git
 * revision (default HEAD) beside the working tree's: each built with the construct's bundling
 * options and the bench:online registry's projection, then imported in fresh processes,
 * interleaved with an empty module (BENCH_INIT_RUNS, default 15; bench/cold-init.ts), and each
 * followed by its first invocation, a one-entity lookup on dynalite. CPU medians per side, the
 * median pair ratio of init, and the load average before and after.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, stat, symlink, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { registryBundling } from '../lib/constructs/function-defaults.ts';
import { startDynalite } from '../lib/local/dynalite-server.ts';
import { ensureLocalTable, localDynamoClient } from '../lib/online/online-table.ts';
import { lookupRegistryProjection } from '../lib/registry/runtime-projection.ts';
import { coldInit, describeColdInit } from './cold-init.ts';
import { median } from './interleave.ts';
import { benchOnlineRegistry, benchOnlineTable, writeBenchOnlineRows } from './online-fixture.ts';

const revision = process.argv[2] ?? 'HEAD';
const runs = Number(process.env.BENCH_INIT_RUNS ?? 15);
const root = fileURLToPath(new URL('..', import.meta.url));
const sh = promisify(execFile);

const registry = benchOnlineRegistry();
const dynamo = await startDynalite();
const table = benchOnlineTable;
const client = localDynamoClient(dynamo.endpoint);
await ensureLocalTable(client, table);
await writeBenchOnlineRows(client, registry, ['C1'], 4);

/** The revision's lib/ and lambdas/ in a folder of their own, resolving this tree's node_modules. */
async function checkoutOf(rev: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fstore-init-rev-'));
  await sh('sh', ['-c', `git archive "$1" lib lambdas | tar -x -C "$2"`, 'sh', rev, dir], {
    cwd: root,
  });
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

const bundling = registryBundling(lookupRegistryProjection(registry));
async function bundleOf(name: string, sourceRoot: string) {
  const dir = await mkdtemp(path.join(tmpdir(), `fstore-init-${name}-`));
  const bundle = path.join(dir, 'index.mjs');
  await build({
    entryPoints: [path.join(sourceRoot, 'lambdas/online-lookup/index.ts')],
    bundle: true,
    minify: bundling.minify ?? false,
    keepNames: bundling.keepNames ?? false,
    platform: 'node',
    target: bundling.target ?? 'node24',
    format: 'esm',
    outfile: bundle,
    external: [...(bundling.externalModules ?? [])],
    ...(bundling.mainFields ? { mainFields: [...bundling.mainFields] } : {}),
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    define: { ...bundling.define },
    logLevel: 'silent',
  });
  await writeFile(path.join(dir, 'package.json'), '{"type":"module"}');
  await mkdir(path.join(dir, 'node_modules'));
  await symlink(
    path.join(root, 'node_modules/@aws-sdk'),
    path.join(dir, 'node_modules', '@aws-sdk'),
  );
  console.log(`${name}: ${((await stat(bundle)).size / 1024).toFixed(1)} KiB minified`);
  return bundle;
}

const names = { before: `lookup bundle at ${revision}`, after: 'lookup bundle, working tree' };
const before = await bundleOf('revision', await checkoutOf(revision));
const after = await bundleOf('working-tree', root);
const floor = path.join(path.dirname(after), 'empty.mjs');
await writeFile(floor, 'export {};\n');
const invocation = {
  event: {
    rawPath: '/v1/features/bench_service',
    body: JSON.stringify({ entities: [{ customer_id: 'C1' }] }),
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST' } },
  },
  env: { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, POWERTOOLS_METRICS_DISABLED: 'true' },
  expectStatus: 200,
};
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`load average before: ${load()}`);
const init = await coldInit(
  [
    { name: names.before, bundle: before, invocation },
    { name: names.after, bundle: after, invocation },
    { name: "an empty ES module (Node's own import cost)", bundle: floor },
  ],
  runs,
);
for (const line of describeColdInit(init, runs)) console.log(line);
const samplesOf = (name: string) => init.get(name)?.samples ?? [];
const ratios = samplesOf(names.after).map(
  (s, i) => s.cpuMs / (samplesOf(names.before)[i]?.cpuMs ?? Number.NaN),
);
console.log(`init CPU, median pair ratio working tree / ${revision}: ${median(ratios).toFixed(2)}`);
console.log(`load average after: ${load()}`);
await dynamo.close();
