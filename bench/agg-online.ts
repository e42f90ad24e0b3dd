/**
 * npm run bench:agg-online — an aggregation view fed by tiles (ADR 0020) against a plain view,
 * on dynalite in this process (as bench:online), or with `--server dynamodb-local` on Amazon
 * DynamoDB Local (Java, its own process; its per-item cost is not dynalite's): first pushes rows for 100 entities through
 * executePush (`to: online`), each row updating the tiles of `spend` (count, sum and avg of
 * amount over 10m, 1d and 30d) and the item of `last_order`, timed as records/s; then lookups
 * of the 9 tile features of 100 entities against lookups of the plain view's feature for the
 * same 100 entities, interleaved (`--runs N` pairs, BENCH_RUNS, default 5; bench/interleave.ts)
 * in blocks of BENCH_ITERATIONS (default 40) after 5 unmeasured ones; a block's figures are
 * its p50 and p99, and the medians of the blocks' p50s are compared (target <= 1.5x). Tile
 * lookups go through a TileItemCache (as the lookup Lambda's): each reads the entities' head
 * items with the tile items its cache lacks, in one round. A block of tile lookups without the
 * cache (every tile item read, as before ADR 0020's "Cached tiles") is timed after the pairs.
 * `--path cold` times tile lookups each through a new cache (a cold container: heads and every
 * item in one round), `--path new-minute` through one cache with each lookup a minute after the
 * one before (heads and the edge items that moved, one round); the default `--path warm` looks
 * up at one instant. Plain lookups run at the same instants.
 * Also the items each lookup reads (keys sent to BatchGetItem), its BatchGetItem calls, and the
 * process's peak RSS.
 * The last line is one JSON object with the figures.
 */
import { loadavg } from 'node:os';
import { BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../lib/definitions/index.ts';
import { startDynalite } from '../lib/local/dynalite-server.ts';
import { TileItemCache } from '../lib/online/aggregation-tiles/tile-item-cache.ts';
import type { BatchGetItems } from '../lib/online/dynamodb-batch-get/batch-get-items.ts';
import { lookupFeatures } from '../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../lib/online/online-table.ts';
import { executePush } from '../lib/push/execute-push.ts';
import { defaultPushLimits } from '../lib/push/push-limits.ts';
import { compileRegistry } from '../lib/registry/index.ts';
import { dynamodbLocalUnavailable, startDynamodbLocal } from './dynamodb-local-server.ts';
import {
  describeInterleave,
  interleave,
  interleaveJson,
  median,
  percentile,
  runsOption,
} from './interleave.ts';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 40);
const rowsPerEntity = Number(process.env.BENCH_ROWS_PER_ENTITY ?? 10);
const entities = 100;
const runs = runsOption(5);
const argv = process.argv.slice(2);
const serverArg =
  argv.find((a) => a.startsWith('--server='))?.slice('--server='.length) ??
  (argv.includes('--server') ? argv[argv.indexOf('--server') + 1] : 'dynalite');
if (serverArg !== 'dynalite' && serverArg !== 'dynamodb-local')
  throw new Error(`--server must be dynalite or dynamodb-local, got ${JSON.stringify(serverArg)}`);
const pathArg =
  argv.find((a) => a.startsWith('--path='))?.slice('--path='.length) ??
  (argv.includes('--path') ? argv[argv.indexOf('--path') + 1] : 'warm');
if (pathArg !== 'warm' && pathArg !== 'cold' && pathArg !== 'new-minute')
  throw new Error(`--path must be warm, cold or new-minute, got ${JSON.stringify(pathArg)}`);

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const registry = compileRegistry([
  {
    definition: defineAggregationView({
      name: 'spend',
      entities: [customer],
      source: orders,
      aggregations: {
        amount: { functions: ['count', 'sum', 'avg'], windows: ['10m', '1d', '30d'] },
      },
      online: true,
      onlineTiles: true,
      schedule: 'rate(1 hour)',
    }),
  },
  {
    definition: defineFeatureView({
      name: 'last_order',
      entities: [customer],
      source: orders,
      features: { amount: 'float64' },
      online: true,
      schedule: 'rate(1 hour)',
    }),
  },
]);
const tileFeatures = (registry.featureViews.find((v) => v.name === 'spend')?.features ?? []).map(
  (f) => ({ feature: f.name, outputName: f.name }),
);
const ids = Array.from({ length: entities }, (_, i) => ({
  customer_id: `C${String(i).padStart(4, '0')}`,
}));

const unavailable = serverArg === 'dynamodb-local' ? dynamodbLocalUnavailable() : undefined;
if (unavailable) {
  console.log(`skipped: --server dynamodb-local: ${unavailable}`);
  process.exit(0);
}
const dynamo = serverArg === 'dynamodb-local' ? await startDynamodbLocal() : await startDynalite();
console.log(`server: ${serverArg}; tile lookups: --path ${pathArg}`);
const client = localDynamoClient(dynamo.endpoint);
const table = 'fstore-bench-agg-online';
await ensureLocalTable(client, table);

// Pushes: rows spread over the last 30 days (a tenth of them in the last 10 minutes), 100 rows a push.
const now = Date.now();
const rows = ids.flatMap(({ customer_id }, e) =>
  Array.from({ length: rowsPerEntity }, (_, r) => {
    const ago =
      r % 10 === 0 ? ((e * 7 + r) % 600) * 1000 : ((e * 7919 + r * 104_729) % (30 * 86_400)) * 1000;
    return {
      customer_id,
      amount: (e * 31 + r) / 7,
      event_ts: new Date(now - ago - 1).toISOString(),
    };
  }),
);
const pushStarted = performance.now();
for (let i = 0; i < rows.length; i += 100)
  await executePush({ registry, online: { client, table } }, defaultPushLimits, 'orders', {
    rows: rows.slice(i, i + 100),
    to: 'online',
  });
const pushSeconds = (performance.now() - pushStarted) / 1000;
const recordsPerSecond = rows.length / pushSeconds;
console.log(
  `pushed ${rows.length} rows (${entities} entities x ${rowsPerEntity}) to spend's tiles and last_order's items in ${pushSeconds.toFixed(1)} s: ${recordsPerSecond.toFixed(0)} records/s`,
);

// Lookups through lookupFeatures on a BatchGetItem that counts the keys it sends.
let keysSent = 0;
let callsSent = 0;
const batchGet: BatchGetItems = async (input) => {
  callsSent++;
  keysSent += Object.values(input.RequestItems ?? {}).reduce(
    (n, r) => n + (r.Keys?.length ?? 0),
    0,
  );
  return client.send(new BatchGetItemCommand(input));
};
let tileCache = new TileItemCache();
// --path new-minute: every lookup (both sides) a minute after the one before.
let minutesOn = 0;
type Side = 'spend' | 'last_order' | 'spend uncached';
const lookup = (side: Side) => {
  if (side === 'spend' && pathArg === 'cold') tileCache = new TileItemCache();
  if (pathArg === 'new-minute') minutesOn++;
  const at = now + minutesOn * 60_000;
  return lookupFeatures(
    batchGet,
    table,
    registry,
    {
      views: [
        {
          view: side === 'last_order' ? 'last_order' : 'spend',
          features:
            side === 'last_order' ? [{ feature: 'amount', outputName: 'amount' }] : tileFeatures,
        },
      ],
      entities: ids,
    },
    side === 'spend' ? { tileCache, now: () => at } : { now: () => at },
  );
};
const block = async (view: Side) => {
  for (let i = 0; i < 5; i++) await lookup(view);
  const times: number[] = [];
  const keysBefore = keysSent;
  const callsBefore = callsSent;
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    await lookup(view);
    times.push(performance.now() - started);
  }
  return {
    p50: median(times),
    p99: percentile(times, 99),
    items: (keysSent - keysBefore) / iterations,
    calls: (callsSent - callsBefore) / iterations,
  };
};
const sample = await lookup('spend');
const counted = sample.filter((r) => Number(r.amount_count_30d?.value) > 0).length;
console.log(
  `a tile lookup of ${entities} entities finds rows in the 30d window for ${counted} of them`,
);
const result = await interleave({
  runs,
  ours: () => block('spend'),
  baseline: () => block('last_order'),
  value: (b) => b.p50,
  onPair: (p) =>
    console.log(
      `  pair ${p.pair}: tiles p50 ${p.ours.p50.toFixed(2)} ms p99 ${p.ours.p99.toFixed(2)} ms; plain p50 ${p.baseline.p50.toFixed(2)} ms p99 ${p.baseline.p99.toFixed(2)} ms; ratio ${p.ratio.toFixed(2)}`,
    ),
});
for (const line of describeInterleave(result, 'ms')) console.log(line);
const uncached = await block('spend uncached');
console.log(
  `tiles without the cache (one block after the pairs): p50 ${uncached.p50.toFixed(2)} ms p99 ${uncached.p99.toFixed(2)} ms, ${uncached.items} items per lookup`,
);
const tiles = result.oursMedianRun;
const plain = result.baselineMedianRun;
const peakRssMb = process.resourceUsage().maxRSS / 1024;
console.log(
  `items read per lookup of ${entities} entities: tiles ${tiles.items} (${(tiles.items / entities).toFixed(1)} per entity, 3 windows, --path ${pathArg}; ${tiles.calls} BatchGetItem calls), uncached ${uncached.items}, plain ${plain.items}; peak RSS ${peakRssMb.toFixed(0)} MB; load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log(
  JSON.stringify({
    bench: 'agg-online',
    server: serverArg,
    path: pathArg,
    entities,
    windows: ['10m', '1d', '30d'],
    push: {
      rows: rows.length,
      seconds: Number(pushSeconds.toFixed(2)),
      records_per_second: Math.round(recordsPerSecond),
    },
    tiles: {
      p50_ms: Number(tiles.p50.toFixed(2)),
      p99_ms: Number(tiles.p99.toFixed(2)),
      items_per_lookup: tiles.items,
      batch_get_calls_per_lookup: tiles.calls,
    },
    tiles_uncached: {
      p50_ms: Number(uncached.p50.toFixed(2)),
      p99_ms: Number(uncached.p99.toFixed(2)),
      items_per_lookup: uncached.items,
    },
    plain: {
      p50_ms: Number(plain.p50.toFixed(2)),
      p99_ms: Number(plain.p99.toFixed(2)),
      items_per_lookup: plain.items,
    },
    p50: interleaveJson(result, 2),
    target_ratio: 1.5,
    peak_rss_mb: Math.round(peakRssMb),
    load: loadavg()[0],
  }),
);
client.destroy();
await dynamo.close();
