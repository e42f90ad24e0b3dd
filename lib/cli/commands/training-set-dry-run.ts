import { rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { isLocalEnv } from '../../data-paths.ts';
import { stageEntityRequest } from '../../offline/athena-training-set.ts';
import { openDuckdb } from '../../offline/duckdb-session.ts';
import { describeBytes } from '../../offline/ingest-leftovers.ts';
import { loadEntities } from '../../offline/load-entities.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import { estimateLocalScan, type LocalScanEstimate } from '../../offline/local-scan-estimate.ts';
import { estimateAthenaScan } from '../../offline/s3-scan-estimate.ts';
import { athenaPrice, type SourceScanEstimate } from '../../offline/scan-estimate.ts';
import { onDemandInputsOfRequest } from '../../on-demand/plan-on-demand.ts';
import type { Registry } from '../../registry/index.ts';
import { planPointInTime, requiredJoinKeys } from '../../sql/point-in-time-plan.ts';
import { athenaRunnerFor } from '../aws-env.ts';
import { awsRegion } from '../aws-region.ts';
import { UsageError } from '../cli-error.ts';
import type { CliContext } from '../context.ts';

export interface TrainingSetDryRunOptions {
  readonly service?: string;
  readonly features?: readonly string[];
  readonly entities: string;
  readonly timestampColumn: string;
  readonly fullFeatureNames?: boolean;
  readonly bucket?: string;
  readonly json?: boolean;
  readonly aggregations?: 'auto' | 'range-join' | 'running-totals';
}

/** The partitions (AWS) or files (local) listed per source in text output; `--json` lists them all. */
const listedPerSource = 8;

const pricing = `$${athenaPrice.usdPerTerabyte} per TB scanned, ${athenaPrice.minimumMegabytes} MB minimum per query`;

/**
 * `fstore training-set --dry-run`: what a training set would read, before it runs. On AWS the
 * partitions and bytes the Athena statement can scan (from S3 object sizes) and Athena's price
 * for them as an estimate; locally the data files in those partitions. Nothing is uploaded,
 * written or queried.
 */
export async function trainingSetDryRun(
  ctx: CliContext,
  registry: Registry,
  options: TrainingSetDryRunOptions,
): Promise<void> {
  if (isLocalEnv(ctx.env)) return localDryRun(ctx, registry, options);
  const { service, bucket } = requireAthenaRequest(ctx, options);
  const plan = planPointInTime(
    registry,
    { service },
    {
      entityTimestampColumn: options.timestampColumn,
      extraFeatures: onDemandInputsOfRequest(registry, { service }),
    },
  );
  // The request as it would be uploaded, to count its bytes too.
  const dir = await mkdtemp(path.join(tmpdir(), 'fstore-dry-run-'));
  // A signal exits at once (the shutdown default); the staged copy goes with it.
  const forget = ctx.shutdown.onExit(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const staged = path.join(dir, 'entities.parquet');
    const request = await stageEntityRequest({
      entities: options.entities,
      timestampColumn: options.timestampColumn,
      joinKeys: requiredJoinKeys(plan),
      staged,
    });
    const region = awsRegion(ctx.env);
    ctx.out.status(`listing the partitions a training set of ${service} can read ...`);
    const estimate = await estimateAthenaScan({
      s3: new S3Client({ region }),
      bucket,
      region,
      registry,
      service,
      plan,
      database: athenaRunnerFor(ctx.env).database,
      timeRange: request.timeRange,
      requestBytes: (await stat(staged)).size,
    });
    if (options.json) {
      ctx.out.json({
        dryRun: true,
        engine: 'athena',
        service,
        bucket,
        entityRows: request.rows,
        entityTimeRange: request.timeRange,
        sources: estimate.sources.map(sourceJson),
        requestBytes: estimate.requestBytes,
        bytes: estimate.bytes,
        estimate: { ...estimate.price, pricing, isEstimate: true },
      });
      return;
    }
    ctx.out.line(
      `Dry run: training set of ${service} on "${ctx.env}" for ${request.rows.toLocaleString('en-US')} entity rows from ${request.timeRange.min} to ${request.timeRange.max}; nothing uploaded, no query run.`,
    );
    printSources(ctx, estimate.sources, 'objects', bucket);
    ctx.out.line(
      `Estimated scan: ${describeBytes(estimate.bytes)} (each read of a source counts its partitions' objects and ingest records, plus ${describeBytes(estimate.requestBytes)} of entity rows). Athena reads only the Parquet columns it needs, so it usually scans less.`,
    );
    ctx.out.line(
      `Estimated cost: about ${usd(estimate.price.usd)} (${pricing}; an estimate, not a quote: prices differ by region, and the bill is what counts).`,
    );
  } finally {
    forget();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The service and bucket a training set on Athena needs, or a usage error saying how to pass them. */
export function requireAthenaRequest(
  ctx: CliContext,
  options: { readonly service?: string; readonly bucket?: string },
): { service: string; bucket: string } {
  if (!options.service)
    throw new UsageError(
      'on AWS, training sets are built per feature service',
      'pass --service <name>',
    );
  if (!options.bucket)
    throw new UsageError(
      `training sets on "${ctx.env}" need its offline bucket`,
      `pass --bucket <name> (stack output OfflineBucketName) or set FSTORE_OFFLINE_BUCKET`,
    );
  return { service: options.service, bucket: options.bucket };
}

async function localDryRun(
  ctx: CliContext,
  registry: Registry,
  options: TrainingSetDryRunOptions,
): Promise<void> {
  const request = options.service
    ? { service: options.service }
    : { features: options.features ?? [] };
  const plan = planPointInTime(registry, request, {
    entityTimestampColumn: options.timestampColumn,
    ...(options.fullFeatureNames ? { fullFeatureNames: true } : {}),
    extraFeatures: onDemandInputsOfRequest(registry, request),
  });
  const session = await openDuckdb();
  try {
    const entities = await loadEntities(session.connection, options.entities, {
      timestampColumn: options.timestampColumn,
      joinKeys: requiredJoinKeys(plan),
    });
    if (!entities.timeRange)
      throw new Error(
        `the entity file ${options.entities} has no rows: a training set needs at least one`,
      );
    const estimate = await estimateLocalScan(
      session.connection,
      offlineRoot(ctx.options.dataDir, ctx.env),
      plan,
      entities,
      options,
    );
    printLocalEstimate(
      ctx,
      options,
      { rows: entities.rows, timeRange: entities.timeRange },
      estimate,
    );
  } finally {
    session.close();
  }
}

function printLocalEstimate(
  ctx: CliContext,
  options: TrainingSetDryRunOptions,
  request: { rows: number; timeRange: { min: string; max: string } },
  estimate: LocalScanEstimate,
): void {
  const runningTotals = estimate.views.filter((v) => v.runningTotals);
  const what = options.service ? { service: options.service } : { features: options.features };
  if (options.json) {
    ctx.out.json({
      dryRun: true,
      engine: 'duckdb',
      ...what,
      entityRows: request.rows,
      entityTimeRange: request.timeRange,
      sources: estimate.sources.map((s) => ({
        source: s.source,
        days: s.days ?? null,
        partitions: s.partitions,
        files: s.files.map((f) => ({ path: f.path, dt: f.dt ?? null, bytes: f.bytes })),
        bytes: s.bytes,
        sortedCopy: s.sortedCopy ?? null,
      })),
      keyValues: estimate.keyValues ?? null,
      views: estimate.views,
      runningTotals: runningTotals.map((v) => v.view),
      files: estimate.files,
      bytes: estimate.bytes,
    });
    return;
  }
  ctx.out.line(
    `Dry run: training set${options.service ? ` of ${options.service}` : ''} for ${request.rows.toLocaleString('en-US')} entity rows from ${request.timeRange.min} to ${request.timeRange.max}; nothing read or written.`,
  );
  ctx.out.table(
    ['source', 'days reached', 'partitions', 'files', 'bytes'],
    estimate.sources.map((s) => [
      s.source,
      s.days ? describeDays(s.days) : '(every file: no manifest)',
      s.partitions.length.toLocaleString('en-US'),
      s.files.length.toLocaleString('en-US'),
      describeBytes(s.bytes),
    ]),
  );
  for (const source of estimate.sources) {
    if (source.files.length === 0) continue;
    ctx.out.line(`${source.source}:`);
    for (const file of source.files.slice(0, listedPerSource))
      ctx.out.line(`  ${ctx.display(file.path)} (${describeBytes(file.bytes)})`);
    if (source.files.length > listedPerSource)
      ctx.out.line(`  … ${source.files.length - listedPerSource} more (--json lists them all)`);
  }
  const keys = estimate.keyValues
    ? `; of them only the rows of the request's keys (${Object.entries(estimate.keyValues)
        .map(([name, n]) => `${n.toLocaleString('en-US')} ${name}`)
        .join(', ')})`
    : '';
  const copied = estimate.sources.filter((s) => s.sortedCopy).map((s) => s.source);
  const copies =
    copied.length > 0
      ? `; ${copied.join(', ')} ${copied.length === 1 ? 'is' : 'are'} read from ${copied.length === 1 ? 'its' : 'their'} sorted copy (all rows ordered by key and time, ADR 0023) and the files committed after it`
      : '';
  ctx.out.line(
    `Opens: ${estimate.files.toLocaleString('en-US')} files, ${describeBytes(estimate.bytes)}: the files the training set opens (the committed files of the days each entity row's window reaches, plus the newest ingest's first file of a source for its columns)${keys}${copies}. Sizes are whole files, an upper bound: DuckDB reads only the columns and row groups it needs.`,
  );
  if (runningTotals.length > 0)
    ctx.out.line(
      `Not counted: ${runningTotals.map((v) => `${v.view} (${v.sourceFiles ? `running totals, and ${v.source}'s files for what totals cannot answer` : `running totals, not ${v.source}'s files`})`).join(', ')} ${runningTotals.length === 1 ? 'reads' : 'read'} running totals (--aggregations), which a first run, or one after new ingests, builds from every file of the source.`,
    );
}

/** Day ranges as `from..to` (a single day once), the first few. */
function describeDays(days: readonly { readonly from?: string; readonly to: string }[]): string {
  const shown = days
    .slice(0, 3)
    .map((d) => (d.from === d.to ? d.to : `${d.from ?? '(first)'}..${d.to}`));
  return days.length > 3 ? `${shown.join(', ')}, … ${days.length - 3} more` : shown.join(', ');
}

function printSources(
  ctx: CliContext,
  sources: readonly SourceScanEstimate[],
  unit: 'objects' | 'files',
  bucket?: string,
): void {
  ctx.out.table(
    [
      'source',
      'dt from',
      'dt to',
      'partitions',
      unit,
      'bytes',
      ...(bucket ? ['reads', 'ingest records'] : []),
    ],
    sources.map((s) => [
      s.source,
      s.fromDay ?? '(first)',
      s.toDay,
      s.partitions.length.toLocaleString('en-US'),
      s.objects.toLocaleString('en-US'),
      describeBytes(s.bytes),
      ...(bucket ? [s.reads, describeBytes(s.recordBytes)] : []),
    ]),
  );
  // Locally the files are listed instead.
  if (unit === 'files') return;
  for (const source of sources) {
    const listed = source.partitions.slice(0, listedPerSource);
    if (listed.length === 0) continue;
    const more = source.partitions.length - listed.length;
    ctx.out.line(
      `${source.source} partitions: ${listed.map((p) => `${p.dt} (${describeBytes(p.bytes)})`).join(', ')}${more > 0 ? `, … ${more} more (--json lists them all)` : ''}`,
    );
  }
}

function sourceJson(source: SourceScanEstimate) {
  return {
    source: source.source,
    fromDay: source.fromDay ?? null,
    toDay: source.toDay,
    reads: source.reads,
    partitions: source.partitions,
    objects: source.objects,
    bytes: source.bytes,
    recordBytes: source.recordBytes,
  };
}

/** Dollars with two significant digits below a cent (Athena's minimum is $0.0000477). */
function usd(amount: number): string {
  return amount >= 0.01 ? `$${amount.toFixed(2)}` : `$${amount.toPrecision(2)}`;
}
