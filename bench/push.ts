/**
 * npm run bench:push — `POST /v1/push/{source}` on `fstore serve` (its own process, on its
 * embedded dynalite, started as a user starts it) against the bare conditional writes the
 * handler issues: the same `putCommand`s built by `buildOnlinePush` for the same kind of rows,
 * sent by `sendConditionalPuts` from this process straight to the server's dynalite through the
 * client the handler sends them with (the signed PutItem client, lib/local/local-signed-put.ts).
 * The same puts through the AWS SDK client are measured too, in the same pair, as a second
 * baseline (what the handler's writes cost before issue 17 §4). Each request pushes new
 * entities (`to: "online"`), so every put writes on every side. Pushes are sent with
 * `node:http` and a keep-alive agent, the transport of the baseline's signed client, so the
 * two sides differ by the push route, not by the client library (`fetch` costs about a
 * millisecond more per request here: it would be counted as the handler's).
 * The default target, `online_and_offline`, is compared with what it must do at least: the
 * same push log written durably by the bench (`appendPushLog`: temporary file, fsync, rename,
 * folder fsync, on the same file system) and then the same puts. The server runs with
 * `--compact-push-logs-every 0`, so no background ingest of the logs competes with the
 * measured pushes (the bench's logs are never ingested either).
 *
 * For 1 and 100 rows per request: `--runs N` interleaved pairs (BENCH_RUNS, default 5;
 * bench/interleave.ts) of one block each (BENCH_PUSH_REQUESTS, default 200 one-row and 40
 * hundred-row requests, after 10 unmeasured ones); a block's figure is its p50, the medians of
 * the blocks' p50s are compared. Rows/s is rows over the block's wall time (one request at a
 * time); CPU per request is this process plus the server process (/proc), so dynalite's work
 * counts on both sides.
 * Then: visibility (a lookup right after each 200, counting lookups that did not return the
 * pushed value: must be 0), and offline visibility (rows pushed `online_and_offline`, the time
 * of the compaction call, and a training set that must see every row).
 * `--quick`: 2 pairs of 50 and 10 requests, 50 visibility checks, 200 offline rows.
 * The last line is one JSON object.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { onlineEndpointPath } from '../lib/data-paths.ts';
import { microsOfMillis } from '../lib/epoch-micros.ts';
import { localSignedPut } from '../lib/local/local-signed-put.ts';
import { type ConditionalWriter, sendConditionalPuts } from '../lib/online/conditional-puts.ts';
import { localDynamoClient, onlineTableName } from '../lib/online/online-table.ts';
import { compactPushLogs } from '../lib/push/compact-push-logs.ts';
import { defaultPushLimits } from '../lib/push/push-limits.ts';
import { appendPushLog } from '../lib/push/push-log.ts';
import { pushSource } from '../lib/push/push-source.ts';
import { type PushRow, validatePushRows } from '../lib/push/validate-push-rows.ts';
import { buildOnlinePush } from '../lib/push/write-push-online.ts';
import { compileRegistry, loadDefinitions } from '../lib/registry/index.ts';
import {
  describeInterleave,
  type InterleaveResult,
  interleave,
  interleaveJson,
  median,
  percentile,
  runsOption,
} from './interleave.ts';
import {
  fstoreCli,
  pushBenchFolders,
  pushBenchRow,
  pushBenchSource,
  pushBenchView,
  startServe,
} from './push-fixture.ts';
import { inProcessPushHandler } from './push-handler-in-process.ts';

const quick = process.argv.includes('--quick');
const runs = runsOption(quick ? 2 : 5);
const requestsFor = (rows: number) =>
  Number(process.env.BENCH_PUSH_REQUESTS ?? 0) ||
  (quick ? (rows === 1 ? 50 : 10) : rows === 1 ? 200 : 40);
const visibilityChecks = quick ? 50 : 200;
const offlineRequests = quick ? 4 : 20;
const offlineRowsPerRequest = 50;
const warmup = 10;
const env = 'local';

const { defsDir, dataDir } = await pushBenchFolders();
const serve = await startServe(defsDir, dataDir, ['--compact-push-logs-every', '0']);
// Where the bare side of the online_and_offline comparison writes its logs: beside the server's
// data folder, on the same file system.
const bareLogDataDir = path.join(path.dirname(dataDir), 'bare-push-logs');
const endpoint = (await readFile(onlineEndpointPath(dataDir, env), 'utf8')).trim();
const client = localDynamoClient(endpoint);
const signedPut = localSignedPut(endpoint, (reason) => {
  throw new Error(`the signed PutItem client cannot be built for ${endpoint}: ${reason}`);
});
const table = onlineTableName(env);
const registry = compileRegistry(await loadDefinitions(defsDir));
const source = pushSource(registry, pushBenchSource);
console.log(
  `fstore serve (pid ${serve.pid}) on ${serve.url}, dynalite ${endpoint}; load average ${loadAverage().join(' ')}`,
);

let nextId = 0;
/** `count` rows of entities never pushed before, event time one second ago. */
function freshRows(count: number): Record<string, unknown>[] {
  const at = new Date(Date.now() - 1_000).toISOString();
  return Array.from({ length: count }, () => {
    const n = nextId++;
    return pushBenchRow(`P${String(n).padStart(8, '0')}`, n, at);
  });
}

const serveUrl = new URL(serve.url);
const keepAlive = new http.Agent({ keepAlive: true });
/** POSTs JSON to `fstore serve` over a keep-alive connection (as the signed put client does). */
// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field and checked
function post(route: string, body: unknown): Promise<{ status: number; json: any }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        hostname: serveUrl.hostname,
        port: serveUrl.port,
        path: route,
        method: 'POST',
        agent: keepAlive,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          try {
            resolve({
              status: response.statusCode ?? 0,
              json: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on('error', reject);
    request.end(text);
  });
}

async function pushOnce(rows: unknown[], to = 'online'): Promise<void> {
  const answer = await post(`/v1/push/${pushBenchSource}`, { rows, to });
  if (answer.status !== 200)
    throw new Error(`push answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  if (to !== 'offline' && answer.json.online.written !== rows.length)
    throw new Error(`push wrote ${answer.json.online.written} of ${rows.length} rows`);
}

/** The checked rows and the puts the handler would issue for fresh rows, built before any clock starts. */
function bareWrites(
  count: number,
  seqFromClock = false,
): { rows: PushRow[]; puts: PutItemCommand[] } {
  const nowMs = Date.now();
  const rows = validatePushRows(registry, source, freshRows(count), {
    nowMicros: microsOfMillis(nowMs),
    maxFutureSkewSeconds: defaultPushLimits.maxFutureSkewSeconds,
  });
  const plan = buildOnlinePush(
    { client, table, registry, now: () => nowMs, seqFromClock },
    source.name,
    rows,
  );
  return { rows, puts: plan.views.flatMap((v) => v.puts) };
}

const barePuts = (count: number): PutItemCommand[] => bareWrites(count).puts;

/** The least a push to both stores must do: its log written durably, then its puts. */
async function bareLogThenPuts(writes: { rows: PushRow[]; puts: PutItemCommand[] }) {
  await appendPushLog(bareLogDataDir, env, source, writes.rows);
  await bareOnce(writes.puts);
}

async function bareOnce(
  puts: readonly PutItemCommand[],
  writer: ConditionalWriter = signedPut ?? client,
): Promise<void> {
  const sent = await sendConditionalPuts(writer, puts, { concurrency: 16 });
  if (sent.written !== puts.length) throw new Error(`bare wrote ${sent.written} of ${puts.length}`);
}

interface Block {
  samples: number[];
  p50: number;
  rowsPerSecond: number;
  /** CPU of this process and the server process per measured request, ms. */
  cpuMs: number;
}

/** `requests` timed calls of `run(i)` after `warmup` untimed ones; `prepare(i)` runs off the clock. */
async function block<T>(
  rowsPerRequest: number,
  prepare: () => T,
  run: (prepared: T) => Promise<void>,
): Promise<Block> {
  const requests = requestsFor(rowsPerRequest);
  for (let i = 0; i < warmup; i++) await run(prepare());
  const prepared = Array.from({ length: requests }, prepare);
  const serverCpu = await serve.cpuMs();
  const ownCpu = process.cpuUsage();
  const samples: number[] = [];
  const started = performance.now();
  for (const input of prepared) {
    const t = performance.now();
    await run(input);
    samples.push(performance.now() - t);
  }
  const wallMs = performance.now() - started;
  const own = process.cpuUsage(ownCpu);
  const cpu = (own.user + own.system) / 1000 + ((await serve.cpuMs()) - serverCpu);
  return {
    samples,
    p50: percentile(samples, 50),
    rowsPerSecond: (requests * rowsPerRequest) / (wallMs / 1000),
    cpuMs: cpu / requests,
  };
}

/**
 * The HTTP round trip through the push route without a store write: an empty push, answered
 * 400 EMPTY_PUSH by the handler after the server read, routed and parsed it. What a push costs
 * beyond this floor is the handler's checks and its writes.
 */
const floorSamples: number[] = [];
async function floorBlock(): Promise<void> {
  const requests = requestsFor(1);
  for (let i = 0; i < requests + warmup; i++) {
    const t = performance.now();
    const answer = await post(`/v1/push/${pushBenchSource}`, { rows: [], to: 'online' });
    if (answer.json.error?.code !== 'EMPTY_PUSH') throw new Error(JSON.stringify(answer.json));
    if (i >= warmup) floorSamples.push(performance.now() - t);
  }
}

const sizes: Record<string, number> = {};
/** Blocks of the same bare puts sent through the AWS SDK client, one per pair (second baseline). */
let sdkBlocks: Block[] = [];
const results: Record<string, unknown>[] = [];
let oneRowJson: ReturnType<typeof interleaveJson> | undefined;
// BENCH_PUSH_SIZES=1 runs only the one-row case (e.g. to profile it).
const requestSizes = (process.env.BENCH_PUSH_SIZES ?? '1,100').split(',').map(Number);
for (const rowsPerRequest of requestSizes) {
  sizes[`body_bytes_${rowsPerRequest}_rows`] = Buffer.byteLength(
    JSON.stringify({ rows: freshRows(rowsPerRequest), to: 'online' }),
  );
  const timed = await interleave({
    runs,
    ours: async () => {
      const ours = await block(
        rowsPerRequest,
        () => freshRows(rowsPerRequest),
        (rows) => pushOnce(rows),
      );
      // In the same load window as the pair: between its two blocks.
      if (rowsPerRequest === 1) await floorBlock();
      sdkBlocks.push(
        await block(
          rowsPerRequest,
          () => barePuts(rowsPerRequest),
          (puts) => bareOnce(puts, client),
        ),
      );
      return ours;
    },
    baseline: () => block(rowsPerRequest, () => barePuts(rowsPerRequest), bareOnce),
    value: (b) => b.p50,
  });
  const sdkP50 = median(sdkBlocks.map((b) => b.p50));
  const sdkPairRatio = median(timed.pairs.map((p, i) => p.oursValue / (sdkBlocks[i]?.p50 ?? 0)));
  const sdkSamples = sdkBlocks.flatMap((b) => b.samples);
  const row = {
    rows_per_request: rowsPerRequest,
    ...pairFigures(timed),
    ours_rows_per_s: Math.round(median(timed.pairs.map((p) => p.ours.rowsPerSecond))),
    baseline_rows_per_s: Math.round(median(timed.pairs.map((p) => p.baseline.rowsPerSecond))),
    ours_cpu_ms: round(median(timed.pairs.map((p) => p.ours.cpuMs))),
    baseline_cpu_ms: round(median(timed.pairs.map((p) => p.baseline.cpuMs))),
    baseline_client: 'signed PutItem (the handler’s)',
    sdk_baseline_p50_ms: round(sdkP50),
    sdk_baseline_p99_ms: round(percentile(sdkSamples, 99)),
    sdk_ratio_p50: round(timed.oursMedian / sdkP50, 3),
    sdk_median_pair_ratio: round(sdkPairRatio, 3),
    sdk_baseline_cpu_ms: round(median(sdkBlocks.map((b) => b.cpuMs))),
  };
  sdkBlocks = [];
  results.push(row);
  if (rowsPerRequest === 1) oneRowJson = interleaveJson(timed);
  console.log(
    `${String(rowsPerRequest).padStart(3)} row(s) per request: push p50 ${row.ours_p50_ms} ms p99 ${row.ours_p99_ms} ms, ${row.ours_rows_per_s} rows/s | bare conditional puts (signed client, as the handler) p50 ${row.baseline_p50_ms} ms p99 ${row.baseline_p99_ms} ms, ${row.baseline_rows_per_s} rows/s | ratio p50 ${row.ratio_p50.toFixed(2)} (median of pair ratios ${row.median_pair_ratio.toFixed(2)}; target ≤ 1.2)`,
  );
  console.log(
    `  the same bare puts through the AWS SDK client: p50 ${row.sdk_baseline_p50_ms} ms p99 ${row.sdk_baseline_p99_ms} ms; push / SDK puts ratio p50 ${row.sdk_ratio_p50.toFixed(2)} (median of pair ratios ${row.sdk_median_pair_ratio.toFixed(2)})`,
  );
  console.log(
    `  CPU per request (this process + the server, median of blocks): push ${row.ours_cpu_ms} ms, bare ${row.baseline_cpu_ms} ms, ratio ${(row.ours_cpu_ms / row.baseline_cpu_ms).toFixed(2)}; bare through the SDK ${row.sdk_baseline_cpu_ms} ms`,
  );
  for (const line of describeInterleave(timed, 'ms p50')) console.log(line);
}
const httpFloorP50 = percentile(floorSamples, 50);
const oneRowResult = (results.find((r) => r.rows_per_request === 1) ?? {}) as Record<
  string,
  number
>;
const beyondFloor = (oneRowResult.ours_p50_ms as number) - httpFloorP50;
console.log(
  `  HTTP round trip through the push route (an empty push, 400 EMPTY_PUSH): p50 ${round(httpFloorP50)} ms; a 1-row push beyond it ${round(beyondFloor)} ms against the bare put's ${oneRowResult.baseline_p50_ms} ms (ratio ${round(beyondFloor / (oneRowResult.baseline_p50_ms as number))})`,
);

// The handler alone: the push Lambda's handler called in this process, against the same bare
// puts from this process (bench/push-handler-in-process.ts). This is the target figure.
if (!signedPut)
  throw new Error('the signed PutItem client is needed for the in-process comparison');
const inProcess = inProcessPushHandler({
  registry,
  client,
  putItem: signedPut,
  table,
  source: pushBenchSource,
});
const handlerResults: Record<string, unknown>[] = [];
for (const rowsPerRequest of requestSizes) {
  const timed = await interleave({
    runs,
    ours: () =>
      block(
        rowsPerRequest,
        () => freshRows(rowsPerRequest),
        (rows) => inProcess.push(rows),
      ),
    // The Lambda numbers items by the clock (seqFromClock), so its puts carry a longer condition.
    baseline: () => block(rowsPerRequest, () => bareWrites(rowsPerRequest, true).puts, bareOnce),
    value: (b) => b.p50,
  });
  const row = { rows_per_request: rowsPerRequest, ...pairFigures(timed) };
  handlerResults.push(row);
  console.log(
    `${String(rowsPerRequest).padStart(3)} row(s) per request, the push Lambda's handler in this process: p50 ${row.ours_p50_ms} ms p99 ${row.ours_p99_ms} ms | its bare puts from this process p50 ${row.baseline_p50_ms} ms p99 ${row.baseline_p99_ms} ms | ratio p50 ${row.ratio_p50.toFixed(2)} (median of pair ratios ${row.median_pair_ratio.toFixed(2)}; target ≤ 1.2)`,
  );
  for (const line of describeInterleave(timed, 'ms p50')) console.log(line);
}
console.log(
  `  (the handler's log and metric lines, serialized and dropped: ${Math.round(inProcess.droppedBytes() / 1024)} KiB)`,
);

// The default target: a push to both stores against its durable log write, then its puts.
const bothResults: Record<string, unknown>[] = [];
for (const rowsPerRequest of requestSizes) {
  const timed = await interleave({
    runs,
    ours: () =>
      block(
        rowsPerRequest,
        () => freshRows(rowsPerRequest),
        (rows) => pushOnce(rows, 'online_and_offline'),
      ),
    baseline: () => block(rowsPerRequest, () => bareWrites(rowsPerRequest), bareLogThenPuts),
    value: (b) => b.p50,
  });
  const row = {
    rows_per_request: rowsPerRequest,
    ...pairFigures(timed),
    ours_cpu_ms: round(median(timed.pairs.map((p) => p.ours.cpuMs))),
    baseline_cpu_ms: round(median(timed.pairs.map((p) => p.baseline.cpuMs))),
    baseline: 'the same push log written durably (appendPushLog), then the same signed puts',
  };
  bothResults.push(row);
  console.log(
    `${String(rowsPerRequest).padStart(3)} row(s) per request, "to": "online_and_offline": push p50 ${row.ours_p50_ms} ms p99 ${row.ours_p99_ms} ms | the same log written durably (temporary, fsync, rename, folder fsync) then the same puts p50 ${row.baseline_p50_ms} ms p99 ${row.baseline_p99_ms} ms | ratio p50 ${row.ratio_p50.toFixed(2)} (median of pair ratios ${row.median_pair_ratio.toFixed(2)}); CPU per request ${row.ours_cpu_ms} vs ${row.baseline_cpu_ms} ms`,
  );
  for (const line of describeInterleave(timed, 'ms p50')) console.log(line);
}

// The logs of those pushes are ingested off the clock, so the compaction timed below is its own.
await compactPushLogs({ registry, dataDir, env, sources: [pushBenchSource] });

// Visible on return: a lookup right after each 200 must return the value just pushed. Entities
// repeat (20 of them), so most pushes replace an older value rather than create an item.
const visibilityStart = Date.now() - (visibilityChecks + 60) * 1_000;
let notVisible = 0;
for (let i = 0; i < visibilityChecks; i++) {
  const id = `VIS${i % 20}`;
  const row = pushBenchRow(id, i, new Date(visibilityStart + i * 1_000).toISOString());
  await pushOnce([row]);
  const seen = await post(`/v1/feature-views/${pushBenchView}`, {
    entities: [{ customer_id: id }],
  });
  if (seen.json.results?.[0]?.features?.amount?.value !== row.amount) notVisible += 1;
}
console.log(
  `visibility: ${notVisible} of ${visibilityChecks} lookups right after a push's 200 missed the pushed value (must be 0)`,
);

// Offline: rows pushed to both stores reach a training set after one compaction call.
const offlineIds: string[] = [];
const offlineSamples: number[] = [];
for (let r = 0; r < offlineRequests; r++) {
  const rows = freshRows(offlineRowsPerRequest);
  for (const row of rows) offlineIds.push(row.customer_id as string);
  const t = performance.now();
  await pushOnce(rows, 'online_and_offline');
  offlineSamples.push(performance.now() - t);
}
const compactStarted = performance.now();
const compacted = await compactPushLogs({ registry, dataDir, env, sources: [pushBenchSource] });
const compactMs = performance.now() - compactStarted;
const compactedRows = compacted.reduce((sum, c) => sum + c.rows, 0);
const entities = path.join(path.dirname(dataDir), 'entities.jsonl');
const asOf = new Date(Date.now() + 1_000).toISOString();
await writeFile(
  entities,
  offlineIds.map((id) => JSON.stringify({ customer_id: id, event_timestamp: asOf })).join('\n'),
);
const out = path.join(path.dirname(dataDir), 'training.csv');
const trainingStarted = performance.now();
const training = spawnSync(
  process.execPath,
  [
    fstoreCli,
    '--defs',
    defsDir,
    '--data-dir',
    dataDir,
    'training-set',
    '--features',
    `${pushBenchView}:amount`,
    '--entities',
    entities,
    '--out',
    out,
  ],
  { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
);
const trainingMs = performance.now() - trainingStarted;
if (training.status !== 0) throw new Error(`training-set failed: ${training.stderr}`);
const [header, ...lines] = (await readFile(out, 'utf8')).trim().split('\n');
const amountAt = header?.split(',').indexOf('amount') ?? -1;
const seenOffline = lines.filter((line) => (line.split(',')[amountAt] ?? '') !== '').length;
console.log(
  `offline: ${offlineIds.length} rows pushed online_and_offline in ${offlineRequests} requests (p50 ${round(median(offlineSamples))} ms per ${offlineRowsPerRequest}-row request, push log fsynced); the compaction call took ${round(compactMs)} ms (${compactedRows} rows, ${compacted.reduce((s, c) => s + c.ingested, 0)} logs); a training set then saw ${seenOffline} of ${offlineIds.length} rows (fstore training-set process ${round(trainingMs)} ms)`,
);

const serverPeakRssMb = await serve.peakRssMb();
const stopped = await serve.stop();
client.destroy();
const oneRow = results.find((r) => r.rows_per_request === 1) ?? {};
const hundred = results.find((r) => r.rows_per_request === 100) ?? {};
console.log(
  `peak RSS: fstore serve ${Math.round(serverPeakRssMb)} MB, this process ${Math.round(process.resourceUsage().maxRSS / 1024)} MB; serve exited ${stopped}; load average ${loadAverage().join(' ')}`,
);
console.log(
  JSON.stringify({
    bench: 'push',
    quick,
    ...oneRowJson,
    one_row: oneRow,
    hundred_rows: hundred,
    handler_in_process: handlerResults,
    online_and_offline: bothResults,
    push_client: 'node:http keep-alive',
    http_floor_p50_ms: round(httpFloorP50),
    one_row_beyond_http_floor_ratio: round(
      beyondFloor / (oneRowResult.baseline_p50_ms as number),
      3,
    ),
    ...sizes,
    requests_per_block: { 1: requestsFor(1), 100: requestsFor(100) },
    visibility_checks: visibilityChecks,
    not_visible_on_return: notVisible,
    offline_rows: offlineIds.length,
    offline_push_p50_ms: round(median(offlineSamples)),
    compaction_ms: round(compactMs),
    compacted_rows: compactedRows,
    training_set_rows_seen: seenOffline,
    training_set_process_ms: round(trainingMs),
    serve_peak_rss_mb: Math.round(serverPeakRssMb),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    load_average: loadAverage(),
  }),
);
if (notVisible > 0 || seenOffline !== offlineIds.length) process.exitCode = 1;

/** p50 and p99 of both sides of interleaved pairs, and their ratio, rounded for the report. */
function pairFigures(timed: InterleaveResult<Block>) {
  return {
    ours_p50_ms: round(timed.oursMedian),
    ours_p99_ms: round(
      percentile(
        timed.pairs.flatMap((p) => p.ours.samples),
        99,
      ),
    ),
    baseline_p50_ms: round(timed.baselineMedian),
    baseline_p99_ms: round(
      percentile(
        timed.pairs.flatMap((p) => p.baseline.samples),
        99,
      ),
    ),
    ratio_p50: round(timed.ratioOfMedians, 3),
    median_pair_ratio: round(timed.medianPairRatio, 3),
  };
}

function round(value: number, digits = 2): number {
  return Number(value.toFixed(digits));
}

function loadAverage(): number[] {
  return os.loadavg().map((l) => round(l, 1));
}
