import { describeBytes } from '../../offline/ingest-leftovers.ts';
import type { S3SourcePlan } from '../../offline/s3-compact-plan.ts';
import type { Registry } from '../../registry/index.ts';
import { s3Client } from '../aws-clients.ts';
import { awsRegion } from '../aws-region.ts';
import { UsageError } from '../cli-error.ts';
import type { CliContext } from '../context.ts';
import { plural } from '../plural.ts';

export interface S3CompactOptions {
  readonly sources: readonly string[];
  readonly bucket?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly targetFileBytes: number;
}

/** Partitions listed per source in text output; `--json` lists them all. */
const listedPerSource = 8;

/**
 * `fstore compact --env <aws>`. The dry run lists what a compaction would merge from the S3
 * listings, by the rule Athena readers apply (ADR 0008). The real run (lib/offline/s3-compact.ts)
 * is refused before anything is read: its commit record must hide the objects it replaces from
 * Athena in the same step, and the Athena relation selects objects by ingest id alone, so it
 * would read both.
 */
export async function compactS3(
  ctx: CliContext,
  registry: Registry,
  options: S3CompactOptions,
): Promise<void> {
  if (!options.dryRun)
    throw new UsageError(
      `fstore compact on AWS environment "${ctx.env}" can only plan (--dry-run): fstore's Athena queries read every object whose ingest id has a record and do not yet honour a compaction's record, so a merged object would be read beside the objects it replaces (docs/adr/0008, Compaction); nothing was changed`,
      'run it with --dry-run to see what would be merged, with object sizes. Each fstore ingest writes at most one object per dt partition (or objects of --target-file-size), so small objects on S3 come from many small ingests: ingest larger batches (a day of rows or more at once)',
    );
  if (!options.bucket)
    throw new UsageError(
      `compact --dry-run on AWS environment "${ctx.env}" needs its offline bucket`,
      `pass --bucket <name> (the OfflineBucketName output of stack fstore-${ctx.env}) or set FSTORE_OFFLINE_BUCKET`,
    );
  const bucket = options.bucket;
  const region = awsRegion(ctx.env);
  const [s3, { planS3Compaction }] = await Promise.all([
    s3Client(region),
    import('../../offline/s3-compact-plan.ts'),
  ]);
  const plans: S3SourcePlan[] = [];
  for (const source of options.sources) {
    const prefix = registry.sources.find((s) => s.name === source)?.offline.s3Prefix;
    if (!prefix) throw new Error(`internal: source "${source}" is not in the registry`);
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
  if (options.json) {
    ctx.out.json({
      dryRun: true,
      engine: 's3',
      bucket,
      targetFileBytes: options.targetFileBytes,
      sources: plans.map((plan) => ({ ...summaryOf(plan, options.targetFileBytes), ...plan })),
    });
    return;
  }
  ctx.out.line(
    `Dry run: compaction of "${ctx.env}" in s3://${bucket}/offline/ (target ${describeBytes(options.targetFileBytes)}); nothing read but the listings and old-layout ingest records, nothing written.`,
  );
  for (const plan of plans) printPlan(ctx, plan, options.targetFileBytes);
  if (plans.every((plan) => plan.groups.length === 0))
    ctx.out.line(
      `${ctx.out.c.green('✔')} nothing to compact: no partition has two or more committed objects below ${describeBytes(options.targetFileBytes)}`,
    );
  ctx.out.line(
    `${ctx.out.c.dim('·')} objects with different columns are told apart only when merged, so "at most"; the merge is not run on S3 until fstore's Athena queries honour a compaction's record`,
  );
}

/** Counts for a source's plan: objects after are at most one per target size of each group. */
function summaryOf(plan: S3SourcePlan, targetFileBytes: number) {
  const replaced = plan.groups.reduce((n, g) => n + g.objects.length, 0);
  const written = plan.groups.reduce(
    (n, g) => n + Math.max(1, Math.ceil(g.bytes / targetFileBytes)),
    0,
  );
  return {
    partitions: plan.groups.length,
    objectsBefore: plan.committedObjects,
    objectsAfterAtMost: plan.committedObjects - replaced + written,
    bytesMerged: plan.groups.reduce((n, g) => n + g.bytes, 0),
  };
}

function printPlan(ctx: CliContext, plan: S3SourcePlan, targetFileBytes: number): void {
  const summary = summaryOf(plan, targetFileBytes);
  const uncommitted =
    plan.uncommittedObjects > 0
      ? `; ${plural(plan.uncommittedObjects, 'object')} of uncommitted ingests left alone (no reader reads them)`
      : '';
  if (plan.groups.length === 0) {
    ctx.out.line(
      `  ${plan.source}: nothing to merge (${plural(plan.committedObjects, 'committed object')})${uncommitted}`,
    );
    return;
  }
  ctx.out.line(
    `  ${plan.source}: ${plural(summary.partitions, 'partition')}, ${summary.objectsBefore.toLocaleString('en-US')} → at most ${summary.objectsAfterAtMost.toLocaleString('en-US')} objects (${describeBytes(summary.bytesMerged)} merged)${uncommitted}`,
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
