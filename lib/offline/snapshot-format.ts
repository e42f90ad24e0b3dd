import { z } from 'zod';
import { HintedError } from '../hinted-error.ts';
import { type CommittedSeq, seqFromJson, seqJsonSchema, seqToJson } from './seq-pins.ts';

/**
 * A snapshot names the offline data as it was when it was made, at no copy: per source the
 * highest `fstore_seq` committed then (and the ingests), which a training set reads as of
 * (`fstore_seq <= n`) and retention must keep. The same record is stored locally (in
 * `_snapshots.json`) and on AWS (one S3 object per snapshot, lib/offline/s3-snapshots.ts).
 */
export const snapshotSchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  description: z.string().optional(),
  service: z.string().optional(),
  sources: z.record(
    z.string(),
    z.object({ maxSeq: seqJsonSchema, ingestIds: z.array(z.string()) }),
  ),
});

export type Snapshot = z.infer<typeof snapshotSchema>;

/** Named explicitly: bundles are minified, which renames classes. */
export class SnapshotError extends HintedError {
  override name = 'SnapshotError';
}

/**
 * Where an AWS environment's snapshots are, in its offline bucket: one JSON object per snapshot,
 * `_fstore/snapshots/<name>.json` (lib/offline/s3-snapshots.ts). No Glue table reads below it
 * (sources are under `offline/`, requests under `requests/`, results under `athena-results/` and
 * `training-sets/`), and no lifecycle rule expires it. The export of an environment reads it too.
 */
export const s3SnapshotsPrefix = '_fstore/snapshots/';

/** Like definition names: safe in file names, object keys, SQL and shells. */
const namePattern = /^[a-z][a-z0-9_]{0,62}$/;

export function checkSnapshotName(name: string): void {
  if (!namePattern.test(name))
    throw new SnapshotError(
      `snapshot name "${name}" is not valid`,
      'use 1-63 characters: a lower-case letter, then lower-case letters, digits or "_" (e.g. v1_baseline)',
    );
}

/** What a snapshot create is asked for. */
export interface SnapshotWanted {
  readonly name: string;
  readonly sources: readonly string[];
  readonly service?: string;
  readonly description?: string;
  readonly now?: Date;
}

/** Refuses a bad name or a too long description before anything is read or written. */
export function checkSnapshotWanted(wanted: SnapshotWanted): void {
  checkSnapshotName(wanted.name);
  if (wanted.description !== undefined && wanted.description.length > 1000)
    throw new SnapshotError(
      `the description of snapshot "${wanted.name}" is ${wanted.description.length} characters long`,
      'keep it under 1,000 characters',
    );
}

/** The snapshot record of `wanted` pinning `seqs` (per source, sorted by name). */
export function newSnapshot(
  wanted: SnapshotWanted,
  seqs: ReadonlyMap<string, CommittedSeq>,
): Snapshot {
  return {
    name: wanted.name,
    createdAt: (wanted.now ?? new Date()).toISOString(),
    ...(wanted.description !== undefined ? { description: wanted.description } : {}),
    ...(wanted.service !== undefined ? { service: wanted.service } : {}),
    sources: Object.fromEntries(
      [...seqs]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([source, seq]) => [
          source,
          { maxSeq: seqToJson(seq.maxSeq), ingestIds: [...seq.ingestIds] },
        ]),
    ),
  };
}

/** The snapshot's recorded pins (what retention keeps); reads use exactPins of its `sources`. */
export function pinsOf(snapshot: Snapshot): ReadonlyMap<string, bigint> {
  return new Map(
    Object.entries(snapshot.sources).map(([source, seq]) => [source, seqFromJson(seq.maxSeq)]),
  );
}

/** The error for a name `env` has no snapshot of, naming the ones it has. */
export function noSuchSnapshot(env: string, name: string, names: readonly string[]): SnapshotError {
  return new SnapshotError(
    `environment "${env}" has no snapshot "${name}"`,
    names.length > 0
      ? `its snapshots: ${names.join(', ')}`
      : 'create one with fstore snapshot create --name <name>',
  );
}

/** The error for a name `env` already has a snapshot of. */
export function snapshotNameTaken(env: string, name: string): SnapshotError {
  return new SnapshotError(
    `environment "${env}" already has a snapshot "${name}"`,
    `pick another name, or delete it first: fstore snapshot delete --name ${name}`,
  );
}
