import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { isLocalEnv } from '../../data-paths.ts';
import {
  contentHashOf,
  contentHashOfBuilt,
  fileSha256,
  outputFormat,
} from '../../offline/canonical-rows.ts';
import { readManifest } from '../../offline/ingest-manifest.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import { exactPins } from '../../offline/seq-pins.ts';
import { diffTrainingSets, type TrainingSetDiff } from '../../offline/training-set-diff.ts';
import {
  manifestPins,
  readTrainingSetManifest,
  type TrainingSetManifest,
} from '../../offline/training-set-manifest.ts';
import { TYPED_COLUMNS_HASH } from '../../offline/typed-columns-hash.ts';
import type { Registry } from '../../registry/index.ts';
import { CliError, exitCodes, UsageError } from '../cli-error.ts';
import type { CliContext } from '../context.ts';
import type { RawOptions } from './training-set.ts';
import { buildLocalTrainingSet, type LocalBuild } from './training-set-local-build.ts';
import { trainingSetManifest, writeManifestBeside } from './training-set-record.ts';
import { removeStaleManifest } from './training-set-recorded.ts';

/**
 * `fstore training-set --replay X.manifest.json [--out Y]`: rebuilds the training set the
 * manifest describes (its request and entity file, each source read as of its recorded
 * `fstore_seq`) and compares the content hash. Exit 1 with a diff summary when it differs.
 */
export async function replayTrainingSet(
  ctx: CliContext,
  registry: Registry,
  options: RawOptions & { replay?: string },
  fstoreVersion: string,
): Promise<void> {
  const manifestFile = path.resolve(options.replay ?? '');
  if (options.service || options.features || options.snapshot || options.dryRun)
    throw new UsageError(
      '--replay takes the request and the data from the manifest: drop --service, --features, --snapshot and --dry-run',
      `fstore training-set --replay ${options.replay} [--out <file>]`,
    );
  const manifest = await readTrainingSetManifest(manifestFile);
  if (manifest.env !== ctx.env)
    throw new UsageError(
      `the manifest was written in environment "${manifest.env}", not "${ctx.env}"`,
      `pass --env ${manifest.env}`,
    );
  const original = path.join(path.dirname(manifestFile), manifest.output.file);
  const out = replayOut(options.out, manifest, original);
  const entities = path.resolve(options.entities ?? manifest.entities.file);
  await checkEntityFile(entities, manifest);
  if (registry.version !== manifest.registryVersion)
    ctx.out.status(
      `${ctx.out.c.yellow('warning:')} the definitions changed since the manifest was written (registry ${manifest.registryVersion} then, ${registry.version} now); the output hash says whether the result did`,
    );
  const build: LocalBuild = {
    request: manifest.request,
    entities,
    timestampColumn: manifest.entities.timestampColumn,
    fullFeatureNames: manifest.fullFeatureNames,
    // A pinned read computes aggregations from rows: running totals hold later rows too.
    aggregations:
      manifest.strategy.aggregations === 'running-totals' ? 'auto' : manifest.strategy.aggregations,
    onTransformError: manifest.strategy.onTransformError,
    // Exact: ingests committed since the manifest with rows below its pins stay out.
    pins: isLocalEnv(ctx.env)
      ? exactPins(
          manifest.sources,
          (await readManifest(offlineRoot(ctx.options.dataDir, ctx.env))) ?? [],
        )
      : manifestPins(manifest),
  };
  const beforeReplace = () => (out.temporary ? Promise.resolve() : removeStaleManifest(out.file));
  const athena = isLocalEnv(ctx.env)
    ? undefined
    : await replayOnAthena(ctx, registry, options, manifest, entities, out.file, beforeReplace);
  const result =
    athena?.built ??
    (await buildLocalTrainingSet(ctx, registry, build, out.file, {
      beforeReplace,
      contentHash: manifest.output.contentHash.algorithm === TYPED_COLUMNS_HASH,
    }));
  let sha256: string;
  let diff: TrainingSetDiff | undefined;
  try {
    // The manifest's own algorithm: a v1 manifest is verified with v1.
    sha256 = await contentHashOfBuilt(
      out.file,
      manifest.output.contentHash.algorithm,
      'contentHash' in result ? result.contentHash : undefined,
    );
    if (sha256 !== manifest.output.contentHash.sha256)
      diff = await diffWithOriginal(original, manifest, out.file);
    if (!out.temporary && athena)
      await writeManifestBeside(out.file, await athena.manifest(fstoreVersion, manifest.snapshot));
    else if (!out.temporary)
      await writeManifestBeside(
        out.file,
        await trainingSetManifest({
          fstoreVersion,
          env: ctx.env,
          registry,
          build,
          entitiesSha256: manifest.entities.sha256,
          sources: manifest.sources,
          ...(manifest.snapshot !== undefined ? { snapshot: manifest.snapshot } : {}),
          out: out.file,
          result,
        }),
      );
  } finally {
    if (out.temporary) await rm(out.file, { force: true });
  }
  const matches = diff === undefined;
  if (options.json) {
    ctx.out.json({
      replay: manifestFile,
      matches,
      rows: result.rows,
      expected: { rows: manifest.output.rows, sha256: manifest.output.contentHash.sha256 },
      sha256,
      ...(out.temporary ? {} : { out: out.file }),
      ...(diff
        ? {
            diff:
              diff.differentRows < 0
                ? {
                    expectedRows: manifest.output.rows,
                    actualRows: result.rows,
                    rowsCompared: false,
                  }
                : { ...diff, rowsCompared: true },
          }
        : {}),
    });
    if (!matches) process.exitCode = exitCodes.failure;
    return;
  }
  if (matches) {
    ctx.out.line(
      `${ctx.out.c.green('✔')} replay of ${ctx.display(manifestFile)} matches: ${result.rows.toLocaleString('en-US')} rows, sha256 ${sha256}${out.temporary ? '' : ` → ${ctx.display(out.file)}`}`,
    );
    return;
  }
  throw new CliError(
    `the replay of ${ctx.display(manifestFile)} differs: ${describeDiff(diff, manifest, result.rows)}`,
    {
      hint: 'rows of the pinned ingests were changed or deleted since (retention, fstore delete), or the definitions changed; the manifest still describes the original',
    },
  );
}

/** Where the replay writes: --out (same format, not the original), or a temporary file. */
function replayOut(
  given: string | undefined,
  manifest: TrainingSetManifest,
  original: string,
): { file: string; temporary: boolean } {
  if (given === undefined)
    return {
      file: path.join(
        path.dirname(original),
        `.${path.basename(original)}.replay-${process.pid}.${manifest.output.format}`,
      ),
      temporary: true,
    };
  if (outputFormat(given) !== manifest.output.format)
    throw new UsageError(
      `--out ${given} is not a .${manifest.output.format} file, as the replayed training set was`,
      `the content hash is of the same format: pick a .${manifest.output.format} name`,
    );
  if (path.resolve(given) === original)
    throw new UsageError(
      `--out ${given} is the training set being replayed`,
      'write the replay elsewhere, or leave --out out to check it without keeping it',
    );
  return { file: path.resolve(given), temporary: false };
}

async function checkEntityFile(file: string, manifest: TrainingSetManifest): Promise<void> {
  let sha256: string;
  try {
    sha256 = await fileSha256(file);
  } catch (error) {
    throw new CliError(
      `cannot read the entity file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      {
        hint: 'pass a copy of the file the manifest names with --entities <file>',
        cause: error,
      },
    );
  }
  if (sha256 !== manifest.entities.sha256)
    throw new CliError(
      `the entity file ${file} changed since the manifest was written (sha256 ${sha256}, the manifest says ${manifest.entities.sha256})`,
      { hint: 'replay with the original entity rows: --entities <a copy of the original file>' },
    );
}

/** A row-level diff when the original output is still there unchanged; else undefined rows. */
async function diffWithOriginal(
  original: string,
  manifest: TrainingSetManifest,
  replayed: string,
): Promise<TrainingSetDiff> {
  if (
    existsSync(original) &&
    (await contentHashOf(original, manifest.output.contentHash.algorithm)) ===
      manifest.output.contentHash.sha256
  )
    return diffTrainingSets(original, replayed);
  return { expectedRows: manifest.output.rows, actualRows: -1, differentRows: -1 };
}

function describeDiff(
  diff: TrainingSetDiff | undefined,
  manifest: TrainingSetManifest,
  rows: number,
): string {
  const counts = `${manifest.output.rows.toLocaleString('en-US')} rows then, ${rows.toLocaleString('en-US')} now`;
  if (!diff || diff.differentRows < 0)
    return `${counts}; content hash differs (the original output is gone or changed, so rows cannot be compared)`;
  const parts = [
    counts,
    diff.differentRows === 1
      ? '1 row differs'
      : `${diff.differentRows.toLocaleString('en-US')} rows differ`,
  ];
  if (diff.columns)
    parts.push(
      `columns then: ${diff.columns.expected.join(', ')}; now: ${diff.columns.actual.join(', ')}`,
    );
  const first = diff.firstDifferentRow;
  if (first)
    parts.push(
      `first at row ${first.row}${first.columns.length > 0 ? ` (columns ${first.columns.join(', ')})` : ''}: was ${first.expected}, now ${first.actual}`,
    );
  return parts.join('; ');
}

/**
 * The replay of a manifest of an AWS environment: the same service built on Athena with each
 * source pinned at the manifest's seq, in the manifest's bucket unless --bucket names another.
 */
async function replayOnAthena(
  ctx: CliContext,
  registry: Registry,
  options: RawOptions,
  manifest: TrainingSetManifest,
  entities: string,
  out: string,
  beforeWrite: () => Promise<void>,
) {
  if (!('service' in manifest.request))
    throw new UsageError(
      'this manifest asks for --features; training sets on AWS are built per feature service',
      'replay it in the environment that wrote it',
    );
  const bucket = options.bucket ?? manifest.athena?.bucket;
  if (!bucket)
    throw new UsageError(
      `replaying on "${ctx.env}" needs its offline bucket`,
      'pass --bucket <name> (stack output OfflineBucketName) or set FSTORE_OFFLINE_BUCKET',
    );
  const { athenaManifest, buildOnAthena } = await import('./training-set-athena.ts');
  const build = {
    service: manifest.request.service,
    bucket,
    entities,
    timestampColumn: manifest.entities.timestampColumn,
    onTransformError: manifest.strategy.onTransformError,
    given: { pinned: manifest.sources, what: 'the manifest' },
  };
  const built = await buildOnAthena(ctx, registry, build, out, beforeWrite);
  return {
    built,
    manifest: (fstoreVersion: string, snapshot: string | undefined) =>
      athenaManifest(ctx, registry, build, built, out, {
        fstoreVersion,
        aggregations: manifest.strategy.aggregations,
        ...(snapshot !== undefined ? { snapshot } : {}),
      }),
  };
}
