import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { HintedError } from '../hinted-error.ts';
import { CONTENT_HASH_ALGORITHMS } from './canonical-rows.ts';
import { syncFolder } from './ingest-manifest.ts';
import {
  type CommittedSeq,
  type SeqPins,
  seqFromJson,
  seqJsonSchema,
  seqToJson,
} from './seq-pins.ts';

/** Bumped when a field changes meaning; a reader refuses a format it does not know. */
export const TRAINING_SET_MANIFEST_FORMAT = 1;

const committedSeqSchema = z.object({
  maxSeq: seqJsonSchema,
  ingestIds: z.array(z.string()),
  /** AWS environments: the S3 object keys a read at maxSeq takes rows from. */
  objects: z.array(z.string()).optional(),
});

const manifestSchema = z.object({
  format: z.literal(TRAINING_SET_MANIFEST_FORMAT),
  fstoreVersion: z.string(),
  createdAt: z.string(),
  env: z.string(),
  /** The compiled registry's version: a content hash of every definition. */
  registryVersion: z.string(),
  request: z.union([
    z.object({ service: z.string() }).strict(),
    z.object({ features: z.array(z.string()).min(1) }).strict(),
  ]),
  fullFeatureNames: z.boolean(),
  entities: z.object({
    /** Absolute path when written; the replay reads it there. */
    file: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    timestampColumn: z.string(),
  }),
  /** Per source read: the highest `fstore_seq` committed when it was read, and its ingests. */
  sources: z.record(z.string(), committedSeqSchema),
  snapshot: z.string().optional(),
  /** AWS environments: where the data was and the query that read it. */
  athena: z
    .object({
      bucket: z.string(),
      queryExecutionId: z.string(),
      dataScannedBytes: z.number().int().min(0),
    })
    .optional(),
  strategy: z.object({
    engine: z.enum(['duckdb', 'athena']),
    pointInTime: z.enum(['asof', 'merge-window']),
    aggregations: z.enum(['auto', 'range-join', 'running-totals']),
    onTransformError: z.enum(['fail', 'null']),
  }),
  output: z.object({
    /** The output file's name, beside the manifest (a replay writes next to it). */
    file: z
      .string()
      .refine(
        (name) => name !== '' && name !== '.' && name !== '..' && !/[/\\]/.test(name),
        'a file name beside the manifest, without folders',
      ),
    format: z.enum(['parquet', 'csv']),
    rows: z.number().int().min(0),
    columns: z.array(z.string()),
    contentHash: z.object({ algorithm: z.enum(CONTENT_HASH_ALGORITHMS), sha256: z.string() }),
  }),
});

export type TrainingSetManifest = z.infer<typeof manifestSchema>;

export class TrainingSetManifestError extends HintedError {}

/** `churn.parquet` → `churn.manifest.json`, beside it. */
export function manifestPathFor(out: string): string {
  return path.join(path.dirname(out), `${path.basename(out, path.extname(out))}.manifest.json`);
}

/** The pins a replay of `manifest` reads with: each source's recorded highest `fstore_seq`. */
export function manifestPins(manifest: TrainingSetManifest): SeqPins {
  return new Map(
    Object.entries(manifest.sources).map(([source, seq]) => [source, seqFromJson(seq.maxSeq)]),
  );
}

/** `sources` as the manifest records them, sorted by name. */
export function manifestSources(
  sources: ReadonlyMap<string, CommittedSeq>,
): TrainingSetManifest['sources'] {
  return Object.fromEntries(
    [...sources]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, seq]) => [
        name,
        { maxSeq: seqToJson(seq.maxSeq), ingestIds: [...seq.ingestIds] },
      ]),
  );
}

/**
 * Writes `manifest` to `file` in one step: a temporary file beside it, flushed to disk, renamed
 * over it. A crash leaves the old manifest (or none), never half of one.
 */
export async function writeTrainingSetManifest(
  file: string,
  manifest: TrainingSetManifest,
): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
  await syncFolder(path.dirname(file));
}

/** Reads and checks a training set manifest, naming the file and the field that is wrong. */
export async function readTrainingSetManifest(file: string): Promise<TrainingSetManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new TrainingSetManifestError(
      `cannot read the manifest ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'pass the .manifest.json written beside a training set by fstore training-set --out',
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TrainingSetManifestError(
      `the manifest ${file} is not JSON: ${(error as Error).message}`,
      'it may be damaged; rebuild the training set to get a new one',
      { cause: error },
    );
  }
  const format = (parsed as { format?: unknown } | null)?.format;
  if (typeof format === 'number' && format > TRAINING_SET_MANIFEST_FORMAT)
    throw new TrainingSetManifestError(
      `the manifest ${file} has format ${format}; this fstore reads format ${TRAINING_SET_MANIFEST_FORMAT}`,
      'replay it with the fstore version that wrote it (its fstoreVersion field) or a newer one',
    );
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TrainingSetManifestError(
      `the manifest ${file} is not valid: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
      'it may be damaged or edited; rebuild the training set to get a new one',
    );
  }
  return result.data;
}
