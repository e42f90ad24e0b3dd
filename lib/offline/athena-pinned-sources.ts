import type { S3Client } from '@aws-sdk/client-s3';
import { HintedError } from '../hinted-error.ts';
import { readS3CommittedSources, s3CommittedSeqs, s3ObjectsRead } from './s3-committed-ingests.ts';
import { exactPins, pinThrough, type RecordedPin, type SeqPins, seqToJson } from './seq-pins.ts';
import type { TrainingSetManifest } from './training-set-manifest.ts';

export class PinnedReadError extends HintedError {
  override name = 'PinnedReadError';
}

/** Pins to read as of: a snapshot's or a replayed manifest's `sources`, named in messages. */
export interface AthenaPinsGiven {
  readonly pinned: Readonly<Record<string, RecordedPin>>;
  readonly what: string;
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
  readonly given?: AthenaPinsGiven;
}): Promise<PinnedAthenaSources> {
  const { given } = options;
  const unpinned = given && options.sources.filter((source) => given.pinned[source] === undefined);
  if (unpinned && unpinned.length > 0)
    throw new PinnedReadError(
      `${given?.what} has no pin for source "${unpinned[0]}": a read of it could not be as of then`,
      'ask for features of the sources it pins, or make a snapshot that pins every source read',
    );
  const committed = await readS3CommittedSources(options.s3, options.bucket, options.sources);
  // Exact: ingests committed since the pin was made with rows below it are left out (seq-pins.ts).
  const pins: SeqPins = given
    ? exactPins(
        given.pinned,
        [...committed.values()].flatMap((c) => c.ingests),
      )
    : new Map([...s3CommittedSeqs(committed)].map(([s, seq]) => [s, seq.maxSeq]));
  const sources: TrainingSetManifest['sources'] = {};
  for (const source of [...options.sources].sort()) {
    const pin = pins.get(source) ?? 0n;
    const through = pinThrough(pin);
    const late = new Set(typeof pin === 'bigint' ? [] : pin.excluded.map((range) => range.first));
    const records = committed.get(source);
    const read = records && {
      ...records,
      ingests: records.ingests.filter((i) => !late.has(BigInt(i.firstSeq))),
    };
    sources[source] = {
      maxSeq: seqToJson(through),
      ingestIds: (read?.ingests ?? [])
        .filter((i) => BigInt(i.firstSeq) <= through)
        .map((i) => i.ingestId),
      objects: read ? s3ObjectsRead(read, through) : [],
    };
  }
  return { pins: new Map(options.sources.map((s) => [s, pins.get(s) ?? 0n])), sources };
}
