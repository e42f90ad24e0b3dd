/**
 * npm run bench:online — the lookup handler as deployed (parse, validate, fetch through the
 * Lambda's signed BatchGetItem client, shape JSON; BENCH_LOOKUP_CLIENT=sdk puts it on the AWS
 * SDK's client instead) against a bare loop of the same BatchGetItem calls through the AWS SDK,
 * on dynalite in this process, for 1, 10 and 100 entities of a 3-view service with 50 features;
 * plus the Lambda bundle's size (built with the construct's bundling options and the lookup's
 * projection of the registry, as deployed; and the same handler on the SDK client, as before)
 * and the cold module initialization of both in fresh processes (BENCH_INIT_RUNS, default 10;
 * bench/cold-init.ts), each followed by its first invocation (a one-entity lookup on this
 * dynalite, so what init defers shows), and requests/s and p99 of the local HTTP server under
 * autocannon. Init is CPU time (process.cpuUsage), interleaved with an empty module's, whose
 * figure is Node's own import cost on this machine at this load.
 * The two run interleaved: `--runs N` pairs (BENCH_RUNS, default 5; bench/interleave.ts) of
 * one block of BENCH_ITERATIONS (300) lookups each, after 20 unmeasured ones; a block's figure
 * is its p50, and the medians of the blocks' p50s are compared. Each block also reports the
 * process CPU time per lookup (dynalite runs in this process, so its work counts on both
 * sides); on a loaded machine that ratio moves less than the wall-time one.
 * Then the on-demand case (bench/online-on-demand.ts): a service with an on-demand view against
 * the same service without it, 1, 10 and 100 entities, on dynalite and on captured items
 * (`--only on-demand` runs it alone).
 * The last line is one JSON object with the 100-entity figures.
 */
import { mkdir, mkdtemp, stat, symlink, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { localLambdaContext } from '../lambdas/online-lookup/handler.ts';
import { createBatchGetLookupHandler } from '../lambdas/online-lookup/lookup-handler.ts';
import { registryBundling } from '../lib/constructs/function-defaults.ts';
import { startDynalite } from '../lib/local/dynalite-server.ts';
import { startHttpServer } from '../lib/local/http-server.ts';
import { sdkBatchGet } from '../lib/online/dynamodb-batch-get/sdk-batch-get.ts';
import { signedBatchGet } from '../lib/online/dynamodb-batch-get/signed-batch-get.ts';
import { encodeEntityKey, partitionKey } from '../lib/online/entity-key.ts';
import { ensureLocalTable, localDynamoClient } from '../lib/online/online-table.ts';
import { lookupRegistryProjection } from '../lib/registry/runtime-projection.ts';
import { coldInit, describeColdInit } from './cold-init.ts';
import {
  describeInterleave,
  interleave,
  interleaveJson,
  median,
  percentile,
  runsOption,
} from './interleave.ts';
import { benchOnlineRegistry, benchOnlineTable, writeBenchOnlineRows } from './online-fixture.ts';
import { benchOnDemandLookups } from './online-on-demand.ts';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 300);
const runs = runsOption(5);
const registry = benchOnlineRegistry();

const dynamo = await startDynalite();
const client = localDynamoClient(dynamo.endpoint);
const table = benchOnlineTable;
await ensureLocalTable(client, table);
const ids = Array.from({ length: 1000 }, (_, i) => `C${String(i).padStart(6, '0')}`);
await writeBenchOnlineRows(client, registry, ids, 32);

// The Lambda's own handler (middy, Powertools, validation); EMF output off so it does not flood the console.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const lookupClient = process.env.BENCH_LOOKUP_CLIENT === 'sdk' ? 'sdk' : 'signed';
const batchGet =
  lookupClient === 'sdk'
    ? sdkBatchGet(client)
    : signedBatchGet({
        region: 'eu-west-1',
        credentials: { accessKeyId: 'bench', secretAccessKey: 'bench', sessionToken: 'bench' },
        endpoint: dynamo.endpoint,
      });
const lambdaHandler = createBatchGetLookupHandler({
  registry: lookupRegistryProjection(registry),
  batchGet,
  config: { tableName: table, maxEntities: 1000, maxBodyBytes: 262_144, cacheTtlMs: 0 },
});
console.log(
  `lookup handler on the ${lookupClient === 'sdk' ? 'AWS SDK' : 'signed BatchGetItem'} client`,
);

/** The same keys and projection the handler asks for, sent as bare BatchGetItem calls. */
async function bareLookup(entities: string[]): Promise<void> {
  const keys = entities.flatMap((id) =>
    registry.featureViews.map((v) =>
      partitionKey(v.onlineStore.keyPrefix, encodeEntityKey(v.joinKeys, { customer_id: id })),
    ),
  );
  const names: Record<string, string> = { '#pk': 'pk', '#e': 'event_ts', '#f': 'f' };
  const paths = ['#pk', '#e'];
  registry.featureViews
    .flatMap((v) => v.features)
    .forEach((f, i) => {
      names[`#f${i}`] = f.name;
      paths.push(`#f.#f${i}`);
    });
  const chunks: string[][] = [];
  for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
  await Promise.all(
    chunks.map(async (chunk) => {
      let pending: KeysAndAttributes | undefined = {
        Keys: chunk.map((k) => ({ pk: { S: k } })),
        ProjectionExpression: paths.join(', '),
        ExpressionAttributeNames: names,
      };
      while (pending?.Keys?.length) {
        const response: BatchGetItemCommandOutput = await client.send(
          new BatchGetItemCommand({ RequestItems: { [table]: pending } }),
        );
        pending = response.UnprocessedKeys?.[table];
      }
    }),
  );
}

async function time(run: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return samples;
}

interface Block {
  samples: number[];
  p50: number;
  /** Process CPU time per measured lookup (dynalite runs in this process: its work counts on both sides). */
  cpuMs: number;
}
const block = async (lookup: () => Promise<unknown>): Promise<Block> => {
  const cpu = process.cpuUsage();
  const samples = await time(lookup);
  const used = process.cpuUsage(cpu);
  // time() also runs 20 unmeasured lookups first.
  return {
    samples,
    p50: percentile(samples, 50),
    cpuMs: (used.user + used.system) / 1000 / (samples.length + 20),
  };
};

// `--only on-demand` runs the on-demand case alone (bench/online-on-demand.ts).
const onlyOnDemand = process.argv.slice(2).join(' ').includes('--only on-demand');
const onDemandRows = await benchOnDemandLookups({
  batchGet,
  table,
  ids,
  runs,
  iterations,
  counts: [1, 10, 100],
  log: console.log,
});
if (onlyOnDemand) {
  client.destroy();
  await dynamo.close();
  console.log(
    JSON.stringify({
      bench: 'online',
      case: 'on-demand',
      runs,
      iterations_per_run: iterations,
      on_demand: onDemandRows,
      load_average: os.loadavg().map((l) => Number(l.toFixed(1))),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
  process.exit(0);
}

const rows: Record<string, number>[] = [];
let hundredJson: ReturnType<typeof interleaveJson> | undefined;
for (const count of [1, 10, 100]) {
  const entities = ids.slice(0, count);
  const body = JSON.stringify({ entities: entities.map((customer_id) => ({ customer_id })) });
  // Interleaved blocks, so background noise hits both alike.
  const timed = await interleave({
    runs,
    ours: () =>
      block(async () => {
        const response = await lambdaHandler(
          {
            rawPath: '/v1/features/bench_service',
            body,
            requestContext: { http: { method: 'POST' } },
          },
          localLambdaContext,
        );
        if (response.statusCode !== 200) throw new Error(response.body);
      }),
    baseline: () => block(() => bareLookup(entities)),
    value: (b) => b.p50,
  });
  const ours = timed.pairs.flatMap((p) => p.ours.samples);
  const bare = timed.pairs.flatMap((p) => p.baseline.samples);
  const row = {
    entities: count,
    ours_p50_ms: timed.oursMedian,
    ours_p99_ms: percentile(ours, 99),
    baseline_p50_ms: timed.baselineMedian,
    baseline_p99_ms: percentile(bare, 99),
    ratio_p50: timed.ratioOfMedians,
    median_pair_ratio: timed.medianPairRatio,
    ours_cpu_ms: median(timed.pairs.map((p) => p.ours.cpuMs)),
    baseline_cpu_ms: median(timed.pairs.map((p) => p.baseline.cpuMs)),
  };
  rows.push(row);
  if (count === 100) hundredJson = interleaveJson(timed);
  console.log(
    `${String(count).padStart(3)} entities × 3 views × 50 features: handler p50 ${row.ours_p50_ms.toFixed(2)} ms p99 ${row.ours_p99_ms.toFixed(2)} ms | bare BatchGetItem p50 ${row.baseline_p50_ms.toFixed(2)} ms p99 ${row.baseline_p99_ms.toFixed(2)} ms | ratio p50 ${row.ratio_p50.toFixed(2)} (median of pair ratios ${row.median_pair_ratio.toFixed(2)})`,
  );
  console.log(
    `  process CPU per lookup (median of blocks): handler ${row.ours_cpu_ms.toFixed(2)} ms, bare ${row.baseline_cpu_ms.toFixed(2)} ms, ratio ${(row.ours_cpu_ms / row.baseline_cpu_ms).toFixed(2)}`,
  );
  for (const line of describeInterleave(timed, 'ms p50')) console.log(line);
}

// The Lambda bundle as deployed, built with the options the ServingApi construct gives
// NodejsFunction (the lookup's projection of the registry, no AWS SDK), and the same handler
// on the AWS SDK's DynamoDB client, bundled, as it was deployed before.
const bundling = registryBundling(lookupRegistryProjection(registry));
const deployed = await buildLookupBundle('deployed', bundling, '../lambdas/online-lookup/index.ts');
const sdkBundled = await buildLookupBundle('sdk-client', bundling, './lookup-entry-sdk.ts');
const floor = path.join(deployed.dir, 'empty.mjs');
await writeFile(floor, 'export {};\n');
const initRuns = Number(process.env.BENCH_INIT_RUNS ?? 10);
const firstInvocation = {
  event: {
    rawPath: '/v1/features/bench_service',
    body: JSON.stringify({ entities: [{ customer_id: ids[0] }] }),
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST' } },
  },
  env: { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint },
  expectStatus: 200,
};
const initNames = {
  deployed: 'lookup bundle as deployed (signed BatchGetItem client, no AWS SDK)',
  deployedWithMaps: 'the same with --enable-source-maps',
  sdkBundled: 'lookup bundle on the AWS SDK DynamoDB client, bundled (before)',
  floor: "an empty ES module (Node's own import cost)",
} as const;
const init = await coldInit(
  [
    { name: initNames.deployed, bundle: deployed.bundle, invocation: firstInvocation },
    {
      name: initNames.deployedWithMaps,
      bundle: deployed.bundle,
      nodeFlags: ['--enable-source-maps'],
    },
    { name: initNames.sdkBundled, bundle: sdkBundled.bundle, invocation: firstInvocation },
    { name: initNames.floor, bundle: floor },
  ],
  initRuns,
);
for (const built of [deployed, sdkBundled])
  console.log(
    `lambda bundle, ${built.name}: ${built.bundleKb.toFixed(0)} KiB minified, source map ${built.mapKb.toFixed(0)} KiB`,
  );
for (const line of describeColdInit(init, initRuns)) console.log(line);
const initOf = (name: string) => init.get(name) ?? { wallMs: Number.NaN, cpuMs: Number.NaN };
const firstOf = (name: string) => ({
  cpuMs: Math.round(init.get(name)?.first?.cpuMs ?? Number.NaN),
  initPlusFirstCpuMs: Math.round(init.get(name)?.initPlusFirst?.cpuMs ?? Number.NaN),
});
console.log(
  `load average at the end of the init probes: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

const server = await startHttpServer((event) => lambdaHandler(event, localLambdaContext), {
  port: 0,
  maxBodyBytes: 262_144,
});
const result = await autocannon({
  url: `${server.url}/v1/features/bench_service`,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ entities: [{ customer_id: ids[1] }] }),
  connections: 16,
  duration: Number(process.env.BENCH_HTTP_SECONDS ?? 8),
});
await server.close();
console.log(
  `fstore serve, single-entity lookups, 16 connections: ${result.requests.average.toFixed(0)} req/s, p99 ${result.latency.p99} ms, ${result.non2xx} non-2xx`,
);
// Let autocannon's last responses drain before the store closes under them.
await new Promise((resolve) => setTimeout(resolve, 500));
client.destroy();
await dynamo.close();

const hundred = rows.find((r) => r.entities === 100) ?? {};
console.log(
  JSON.stringify({
    bench: 'online',
    entities: 100,
    ours_p50_ms: Number((hundred.ours_p50_ms ?? 0).toFixed(2)),
    baseline_p50_ms: Number((hundred.baseline_p50_ms ?? 0).toFixed(2)),
    ratio_p50: Number((hundred.ratio_p50 ?? 0).toFixed(3)),
    median_pair_ratio_p50: Number((hundred.median_pair_ratio ?? 0).toFixed(3)),
    ours_p99_ms: Number((hundred.ours_p99_ms ?? 0).toFixed(2)),
    ours_cpu_ms: Number((hundred.ours_cpu_ms ?? 0).toFixed(2)),
    baseline_cpu_ms: Number((hundred.baseline_cpu_ms ?? 0).toFixed(2)),
    iterations_per_run: iterations,
    ...hundredJson,
    bundle_kb: Math.round(deployed.bundleKb),
    source_map_kb: Math.round(deployed.mapKb),
    init_ms: Math.round(initOf(initNames.deployed).wallMs),
    init_cpu_ms: Math.round(initOf(initNames.deployed).cpuMs),
    init_cpu_above_empty_ms: Math.round(
      initOf(initNames.deployed).cpuMs - initOf(initNames.floor).cpuMs,
    ),
    first_invocation_cpu_ms: firstOf(initNames.deployed).cpuMs,
    init_plus_first_invocation_cpu_ms: firstOf(initNames.deployed).initPlusFirstCpuMs,
    init_with_source_maps_ms: Math.round(initOf(initNames.deployedWithMaps).wallMs),
    init_with_source_maps_cpu_ms: Math.round(initOf(initNames.deployedWithMaps).cpuMs),
    lookup_client: lookupClient,
    sdk_client_bundle_kb: Math.round(sdkBundled.bundleKb),
    init_sdk_client_ms: Math.round(initOf(initNames.sdkBundled).wallMs),
    init_sdk_client_cpu_ms: Math.round(initOf(initNames.sdkBundled).cpuMs),
    init_plus_first_invocation_sdk_client_cpu_ms: firstOf(initNames.sdkBundled).initPlusFirstCpuMs,
    load_average: os.loadavg().map((l) => Number(l.toFixed(1))),
    init_empty_module_cpu_ms: Math.round(initOf(initNames.floor).cpuMs),
    init_runs: initRuns,
    http_rps: Math.round(result.requests.average),
    http_p99_ms: result.latency.p99,
    on_demand: onDemandRows,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);

/**
 * Builds a lookup entry (relative to this file) as CDK's NodejsFunction does with these bundling
 * options, into its own folder whose node_modules holds only `@aws-sdk` (what the Lambda
 * runtime provides).
 */
async function buildLookupBundle(name: string, options: typeof bundling, entry: string) {
  const dir = await mkdtemp(path.join(tmpdir(), `fstore-bench-bundle-${name}-`));
  const bundle = path.join(dir, 'index.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    minify: options.minify ?? false,
    keepNames: options.keepNames ?? false,
    sourcemap: options.sourceMap ?? false,
    sourcesContent: options.sourcesContent ?? true,
    platform: 'node',
    target: options.target ?? 'node24',
    format: 'esm',
    outfile: bundle,
    external: [...(options.externalModules ?? [])],
    ...(options.mainFields ? { mainFields: [...options.mainFields] } : {}),
    ...(options.banner ? { banner: { js: options.banner } } : {}),
    define: { ...options.define },
    logLevel: 'silent',
  });
  await writeFile(path.join(dir, 'package.json'), '{"type":"module"}');
  await mkdir(path.join(dir, 'node_modules'));
  await symlink(
    fileURLToPath(new URL('../node_modules/@aws-sdk', import.meta.url)),
    path.join(dir, 'node_modules', '@aws-sdk'),
  );
  return {
    name,
    dir,
    bundle,
    bundleKb: (await stat(bundle)).size / 1024,
    mapKb: options.sourceMap ? (await stat(`${bundle}.map`)).size / 1024 : 0,
  };
}
