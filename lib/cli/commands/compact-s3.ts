import { describeBytes } from '../../offline/ingest-leftovers.ts';
import type { StagedPushSummary } from '../../offline/push-staging-summary.ts';
import type { S3CompactionResult } from '../../offline/s3-compact.ts';
import type { S3SourcePlan } from '../../offline/s3-compact-plan.ts';
import type { S3PushIngestResult } from '../../offline/s3-push-ingest.ts';
import { pushErrorPrefix, pushRefusedPrefix } from '../../push/firehose-staging.ts';
import type { Registry } from '../../registry/index.ts';
import { s3Client } from '../aws-clients.ts';
import { awsRegion } from '../aws-region.ts';
import { UsageError } from '../cli-error.ts';
import type { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { InterruptedError } from '../shutdown.ts';

export interface S3CompactOptions {
  readonly sources: readonly string[];
  readonly bucket?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly targetFileBytes: number;
  /** How long replaced objects stay for queries that listed them before the commit. */
  readonly keepReplacedMs: number;
  /** `--break-lock <owner>`: take over a source's compaction lock from that owner, unexpired. */
  readonly breakLock?: string;
}

interface SourceToCompact {
  readonly source: string;
  /** `offline/<source>/`. */
  readonly prefix: string;
}

/** Each selected source with its data prefix, in the order given. */
function sourcesOf(registry: Registry, sources: readonly string[]): SourceToCompact[] {
  return sources.map((source) => {
    const prefix = registry.sources.find((s) => s.name === source)?.offline.s3Prefix;
    if (!prefix) throw new Error(`internal: source "${source}" is not in the registry`);
    return { source, prefix };
  });
}

/** Partitions listed per source in text output; `--json` lists them all. */
const listedPerSource = 8;

/**
 * `fstore compact --env <aws>`. The dry run lists what a compaction would merge from the S3
 * listings, by the rule Athena readers apply (ADR 0008). The real run merges each source's small
 * committed objects (lib/offline/s3-compact.ts) and commits each source with one compaction
 * record, which fstore's Athena relation honours: from that PutObject on, queries read the merged
 * objects instead of those they replace. A stop (SIGINT/SIGTERM) before a source's commit
 * removes its uploads; sources already committed stay compacted. Each source's run holds its
 * compaction lock (lib/offline/s3-lock.ts): a second `compact` of that source at once is refused.
 */
export async function compactS3(
  ctx: CliContext,
  registry: Registry,
  options: S3CompactOptions,
): Promise<void> {
  if (!options.bucket)
    throw new UsageError(
      `compact on AWS environment "${ctx.env}" needs its offline bucket`,
      `pass --bucket <name> (the OfflineBucketName output of stack fstore-${ctx.env}) or set FSTORE_OFFLINE_BUCKET`,
    );
  if (!options.dryRun)
    return runS3Compaction(ctx, registry, { ...options, bucket: options.bucket });
  const bucket = options.bucket;
  const region = awsRegion(ctx.env);
  const [s3, { planS3Compaction }, { summarizePushStaging }] = await Promise.all([
    s3Client(region),
    import('../../offline/s3-compact-plan.ts'),
    import('../../offline/push-staging-summary.ts'),
  ]);
  const plans: S3SourcePlan[] = [];
  for (const { source, prefix } of sourcesOf(registry, options.sources)) {
    ctx.out.status(`listing s3://${bucket}/${prefix} and its ingest records ...`);
    plans.push(
      await planS3Compaction({
        s3,
        bucket,
        region,
        source,
        prefix,
        targetBytes: options.targetFileBytes,
      }),
    );
  }
  ctx.out.status(`listing the pushed rows Firehose staged under s3://${bucket}/offline/_push/ ...`);
  const staged = await summarizePushStaging(s3, bucket, options.sources);
  const stagedOf = (source: string) => staged.find((s) => s.source === source);
  if (options.json) {
    ctx.out.json({
      dryRun: true,
      engine: 's3',
      bucket,
      targetFileBytes: options.targetFileBytes,
      sources: plans.map((plan) => ({
        ...summaryOf(plan, options.targetFileBytes),
        staged: stagedJson(stagedOf(plan.source)),
        ...plan,
      })),
    });
    return;
  }
  ctx.out.line(
    `Dry run: compaction of "${ctx.env}" in s3://${bucket}/offline/ (target ${describeBytes(options.targetFileBytes)}); nothing read but the listings, old-layout ingest records and compaction records, nothing written.`,
  );
  for (const summary of staged) printStaged(ctx, summary);
  for (const plan of plans) printPlan(ctx, plan, options.targetFileBytes);
  if (plans.every((plan) => plan.groups.length === 0))
    ctx.out.line(
      `${ctx.out.c.green('✔')} nothing to compact: no partition has two or more committed objects below ${describeBytes(options.targetFileBytes)}`,
    );
  ctx.out.line(
    `${ctx.out.c.dim('·')} "about": objects of a partition with different columns are merged apart (more objects), and a merge may compress better (fewer)`,
  );
}

function stagedJson(summary: StagedPushSummary | undefined) {
  if (!summary) return undefined;
  return {
    objects: summary.objects,
    bytes: summary.bytes,
    ...(summary.oldest ? { oldest: summary.oldest.toISOString() } : {}),
    errorObjects: summary.errorObjects,
    refusedObjects: summary.refusedObjects,
  };
}

/** What a run would ingest first for a source (ADR 0016); silent when nothing is staged. */
function printStaged(ctx: CliContext, summary: StagedPushSummary): void {
  const errors =
    summary.errorObjects > 0
      ? `${plural(summary.errorObjects, 'object')} Firehose could not deliver ${summary.errorObjects === 1 ? 'waits' : 'wait'} under ${pushErrorPrefix(summary.source)} (never ingested: read, push again, delete)`
      : '';
  const refused =
    summary.refusedObjects > 0
      ? `${plural(summary.refusedObjects, 'staged object')} the ingest refused ${summary.refusedObjects === 1 ? 'waits' : 'wait'} under ${pushRefusedPrefix(summary.source)} (never ingested: read the .reason.json, push again, delete)`
      : '';
  const problems = [errors, refused].filter(Boolean).join('; ');
  if (summary.objects === 0 && !problems) return;
  const pending =
    summary.objects > 0
      ? `${plural(summary.objects, 'staged pushed object')} (${describeBytes(summary.bytes)}) would be ingested first${summary.oldest ? `, the oldest from ${summary.oldest.toISOString()}` : ''}`
      : 'no staged pushed object';
  ctx.out.line(`  ${summary.source}: ${pending}${problems ? `; ${problems}` : ''}`);
}

/** Counts for a source's plan: objects after is an estimate, one per target size of each group's bytes. */
function summaryOf(plan: S3SourcePlan, targetFileBytes: number) {
  const replaced = plan.groups.reduce((n, g) => n + g.objects.length, 0);
  const written = plan.groups.reduce(
    (n, g) => n + Math.max(1, Math.ceil(g.bytes / targetFileBytes)),
    0,
  );
  return {
    partitions: plan.groups.length,
    objectsBefore: plan.committedObjects,
    objectsAfterAbout: plan.committedObjects - replaced + written,
    bytesMerged: plan.groups.reduce((n, g) => n + g.bytes, 0),
  };
}

/** Keys below a source's records in no record layout: planning ignored them; a person should look. */
function warnIgnoredRecords(ctx: CliContext, plan: S3SourcePlan): void {
  if (plan.ignoredRecords.length === 0) return;
  ctx.out.status(
    `${plan.source}: ignored ${plural(plan.ignoredRecords.length, 'object')} below its ingest records in no record layout (neither <sha256>/<ingestId>.json nor compactions/<id>.json; they commit and replace nothing): ${plan.ignoredRecords.join(', ')}`,
  );
}

function printPlan(ctx: CliContext, plan: S3SourcePlan, targetFileBytes: number): void {
  warnIgnoredRecords(ctx, plan);
  const summary = summaryOf(plan, targetFileBytes);
  const uncommitted =
    plan.uncommittedObjects > 0
      ? `; ${plural(plan.uncommittedObjects, 'object')} of uncommitted ingests or replaced by a compaction left alone (no reader reads them)`
      : '';
  const expired =
    plan.expiredReplaced.length > 0
      ? `; ${plural(plan.expiredReplaced.length, 'replaced object')} past keepUntil would be deleted`
      : '';
  if (plan.groups.length === 0) {
    ctx.out.line(
      `  ${plan.source}: nothing to merge (${plural(plan.committedObjects, 'committed object')})${uncommitted}${expired}`,
    );
    return;
  }
  ctx.out.line(
    `  ${plan.source}: ${plural(summary.partitions, 'partition')}, ${summary.objectsBefore.toLocaleString('en-US')} → about ${summary.objectsAfterAbout.toLocaleString('en-US')} objects (${describeBytes(summary.bytesMerged)} merged)${uncommitted}${expired}`,
  );
  for (const group of plan.groups.slice(0, listedPerSource)) {
    ctx.out.line(
      `    ${group.partition}: ${plural(group.objects.length, 'object')}, ${describeBytes(group.bytes)}`,
    );
    for (const object of group.objects)
      ctx.out.line(`      ${object.key}  ${describeBytes(object.bytes)}`);
  }
  if (plan.groups.length > listedPerSource)
    ctx.out.line(
      `    ... and ${plural(plan.groups.length - listedPerSource, 'more partition')} (--json lists them all)`,
    );
}

async function runS3Compaction(
  ctx: CliContext,
  registry: Registry,
  options: S3CompactOptions & { readonly bucket: string },
): Promise<void> {
  // SIGINT/SIGTERM from here on: the source being merged stops before its commit point.
  const signal = ctx.shutdown.stopSignal();
  const { bucket } = options;
  const region = awsRegion(ctx.env);
  const [s3, { compactS3Source }, { ingestS3PushStagingLocked }, { PushIngestRun }] =
    await Promise.all([
      s3Client(region),
      import('../../offline/s3-compact.ts'),
      import('../../offline/s3-push-ingest.ts'),
      import('../../offline/push-ingest-run.ts'),
    ]);
  const results: S3CompactionResult[] = [];
  const pushed: S3PushIngestResult[] = [];
  for (const { source, prefix } of sourcesOf(registry, options.sources)) {
    ctx.out.status(`compacting s3://${bucket}/${prefix} ...`);
    try {
      results.push(
        await compactS3Source({
          s3,
          bucket,
          region,
          source,
          prefix,
          targetBytes: options.targetFileBytes,
          keepReplacedMs: options.keepReplacedMs,
          signal,
          ...(options.breakLock ? { breakLockOwner: options.breakLock } : {}),
          // Pushed rows Firehose staged first (ADR 0016), under the same lock, so the merge sees them.
          // A batch cut short to set a refused object aside leaves the rest for another batch,
          // until the run has set aside as many objects as it may. One download per object.
          beforePlan: async (held) => {
            const run = await PushIngestRun.open();
            try {
              for (;;) {
                const batch = await ingestS3PushStagingLocked(
                  { s3, bucket, registry, source, signal: held.signal, run },
                  held.lock,
                );
                pushed.push(batch);
                if (!batch.narrowed || batch.stopped) break;
              }
            } finally {
              await run.close();
            }
          },
        }),
      );
    } catch (error) {
      const by = ctx.shutdown.signal;
      if (by && signal.aborted)
        throw new InterruptedError(
          by,
          `source "${source}" was not compacted: it stopped before its commit point and its uploads were removed${results.length > 0 ? ` (${results.map((r) => `"${r.plan.source}"`).join(', ')} committed before)` : ''}`,
          'run fstore compact again',
        );
      throw error;
    }
  }
  if (options.json) {
    ctx.out.json({
      engine: 's3',
      bucket,
      targetFileBytes: options.targetFileBytes,
      sources: results.map((r) => ({
        source: r.plan.source,
        pushed: pushedSummary(pushed.filter((p) => p.source === r.plan.source)),
        objectsBefore: r.plan.committedObjects,
        objectsAfter:
          r.plan.committedObjects -
          r.merges.reduce((n, m) => n + m.replaced.length - m.merged.length, 0),
        partitions: new Set(r.merges.map((m) => m.partition)).size,
        ...(r.record
          ? { compactionId: r.record.ingestId, keepUntil: r.record.keepUntil, record: r.record }
          : {}),
        deletedReplaced: r.deletedReplaced,
        ...(r.plan.ignoredRecords.length > 0 ? { ignoredRecords: r.plan.ignoredRecords } : {}),
      })),
    });
    return;
  }
  for (const p of pushed) {
    if (p.refused)
      ctx.out.status(
        `${ctx.out.c.yellow('warning:')} ${p.source}: staged object ${p.refused.key} was refused and moved to ${p.refused.movedTo} (its reason beside it, .reason.json): ${p.refused.reason.split('\n')[0]}`,
      );
    if (p.stopped === 'set-aside-cap')
      ctx.out.status(
        `${ctx.out.c.yellow('warning:')} ${p.source}: ${plural(pushed.filter((b) => b.source === p.source && b.refused).length, 'staged object')} set aside this run, the most one run sets aside; the rest stay staged (a definition that refuses every row? read a .reason.json under offline/_push/${p.source}/_refused/)`,
      );
    if (p.objects === 0 && !p.recovered) continue;
    ctx.out.line(
      `  ${p.source}: ${plural(p.rows, 'pushed row')} from ${plural(p.objects, 'staged object')} ingested${p.ingest ? ` (ingest ${p.ingest.ingestId})` : ''}${p.duplicates > 0 ? `, ${plural(p.duplicates, 'duplicate')} of rows already delivered left out` : ''}${p.recovered ? `; a batch an earlier run left was ${p.recovered}` : ''}`,
    );
  }
  for (const r of results) {
    warnIgnoredRecords(ctx, r.plan);
    const replaced = r.merges.reduce((n, m) => n + m.replaced.length, 0);
    const merged = r.merges.reduce((n, m) => n + m.merged.length, 0);
    const deleted =
      r.deletedReplaced > 0
        ? `; deleted ${plural(r.deletedReplaced, 'object')} replaced earlier (kept time over)`
        : '';
    ctx.out.line(
      r.record
        ? `  ${r.plan.source}: ${plural(new Set(r.merges.map((m) => m.partition)).size, 'partition')}, ${plural(replaced, 'object')} → ${merged} (compaction ${r.record.ingestId}; the replaced objects stay until ${r.record.keepUntil})${deleted}`
        : `  ${r.plan.source}: nothing to merge${deleted}`,
    );
  }
  if (ctx.shutdown.signal)
    throw new InterruptedError(
      ctx.shutdown.signal,
      'the stop came after the last commit point: every source listed above is compacted whole',
    );
}

function pushedSummary(batches: readonly S3PushIngestResult[]) {
  const [first] = batches;
  if (!first) return undefined;
  const refused = batches.flatMap((b) => (b.refused ? [b.refused] : []));
  return {
    objects: batches.reduce((n, b) => n + b.objects, 0),
    rows: batches.reduce((n, b) => n + b.rows, 0),
    duplicates: batches.reduce((n, b) => n + b.duplicates, 0),
    ...(batches.length === 1 && first.ingest ? { ingestId: first.ingest.ingestId } : {}),
    ...(first.recovered ? { recovered: first.recovered } : {}),
    ...(refused.length > 0 ? { refused } : {}),
    ...(batches.some((b) => b.stopped === 'set-aside-cap') ? { setAsideCapReached: true } : {}),
  };
}
