import type { S3Client } from '@aws-sdk/client-s3';
import { HintedError } from '../hinted-error.ts';
import { readS3CommittedSources, s3CommittedSeqs, s3ObjectsRead } from './s3-committed-ingests.ts';
import { type SeqPins, seqToJson } from './seq-pins.ts';
import type { TrainingSetManifest } from './training-set-manifest.ts';

export class PinnedReadError extends HintedError {
  override name = 'PinnedReadError';
}

/** What an Athena training set reads each source as of, and what its manifest says of it. */
export interface PinnedAthenaSources {
  readonly pins: SeqPins;
  /** Per source: the pin, the ingests within it, and the S3 objects a read at it takes rows from. */
  readonly sources: TrainingSetManifest['sources'];
}

/**
 * The pins of an Athena training set of `sources`, from the S3 commit records: `given` (a
 * snapshot's or a replayed manifest's; a source it leaves out is refused, as locally), or, for an
 * ordinary build, what is committed now, so that the manifest describes exactly the rows read
 * even when an ingest commits during the query.
 */
export async function pinnedAthenaSources(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly sources: readonly string[];
  readonly given?: { readonly pins: SeqPins; readonly what: string };
}): Promise<PinnedAthenaSources> {
  const { given } = options;
  const unpinned = given && options.sources.filter((source) => !given.pins.has(source));
  if (unpinned && unpinned.length > 0)
    throw new PinnedReadError(
      `${given?.what} has no pin for source "${unpinned[0]}": a read of it could not be as of then`,
      'ask for features of the sources it pins, or make a snapshot that pins every source read',
    );
  const committed = await readS3CommittedSources(options.s3, options.bucket, options.sources);
  const pins =
    given?.pins ?? new Map([...s3CommittedSeqs(committed)].map(([s, seq]) => [s, seq.maxSeq]));
  const sources: TrainingSetManifest['sources'] = {};
  for (const source of [...options.sources].sort()) {
    const pin = pins.get(source) ?? 0n;
    const records = committed.get(source);
    sources[source] = {
      maxSeq: seqToJson(pin),
      ingestIds: (records?.ingests ?? [])
        .filter((i) => BigInt(i.firstSeq) <= pin)
        .map((i) => i.ingestId),
      objects: records ? s3ObjectsRead(records, pin) : [],
    };
  }
  return { pins: new Map(options.sources.map((s) => [s, pins.get(s) ?? 0n])), sources };
}
