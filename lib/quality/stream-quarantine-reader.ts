import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { streamQuarantinePrefix } from '../push/stream-records.ts';
import {
  type DamagedQuarantine,
  parseQuarantineLines,
  ruleOf,
  unreadable,
} from './quarantine-lines.ts';

/** One object (or local file) of stream records a stream function quarantined on one day. */
export interface StreamQuarantineObject {
  readonly source: string;
  /** The UTC day the records were refused (the stream function's run id). */
  readonly day: string;
  readonly location: string;
  /** Where the source's records are kept: `s3://…/quarantine/_stream/<source>/` or its folder. */
  readonly sourceLocation: string;
  readonly text: string;
}

export interface StreamQuarantineRead {
  readonly objects: readonly StreamQuarantineObject[];
  /** Objects that were listed but could not be read. */
  readonly damaged: readonly DamagedQuarantine[];
}

/** A refused stream record: why, where it sits in its stream, and what it held. */
export interface StreamQuarantineExample {
  readonly day: string;
  readonly reason: string;
  /** Shard, sequence number, partition key and arrival time of the record. */
  readonly kinesis?: unknown;
  /** The record's JSON, else its text, else its bytes as base64. */
  readonly data: unknown;
}

export interface StreamQuarantineSource {
  readonly source: string;
  readonly records: number;
  /** Reason (without the record's values) → records refused for it. */
  readonly reasons: Readonly<Record<string, number>>;
  /** Days with refused records, oldest first. */
  readonly days: readonly string[];
  readonly location: string;
  /** The newest records first. */
  readonly examples: readonly StreamQuarantineExample[];
}

export interface StreamQuarantineSummary {
  readonly sources: readonly StreamQuarantineSource[];
  readonly damaged: readonly DamagedQuarantine[];
}

/**
 * On AWS: the objects lambdas/stream-push writes under
 * `s3://<bucket>/quarantine/_stream/<source>/<day>/<invocation>-part-<n>.jsonl`, of one source
 * or all. An object that cannot be read is reported in `damaged`.
 */
export async function s3StreamQuarantineFiles(
  s3: S3Client,
  bucket: string,
  source?: string,
): Promise<StreamQuarantineRead> {
  const prefix = `${streamQuarantinePrefix}${source === undefined ? '' : `${source}/`}`;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? [])
      if (object.Key?.endsWith('.jsonl')) keys.push(object.Key);
    token = page.NextContinuationToken;
  } while (token);
  const objects: StreamQuarantineObject[] = [];
  const damaged: DamagedQuarantine[] = [];
  for (const key of keys.sort()) {
    const [keySource, day] = key.slice(streamQuarantinePrefix.length).split('/');
    const location = `s3://${bucket}/${key}`;
    if (!keySource || !day) continue;
    try {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      objects.push({
        source: keySource,
        day,
        location,
        sourceLocation: `s3://${bucket}/${streamQuarantinePrefix}${keySource}/`,
        text: (await response.Body?.transformToString()) ?? '',
      });
    } catch (error) {
      damaged.push({ location, problem: unreadable(error) });
    }
  }
  return { objects, damaged };
}

/**
 * Locally: `<dir>/<source>/<day>.jsonl` (fileQuarantine's layout under `quarantine/_stream/`),
 * of one source or all; no folder, no records.
 */
export async function localStreamQuarantineFiles(
  dir: string,
  source?: string,
): Promise<StreamQuarantineRead> {
  const sources = source === undefined ? await readdir(dir).catch(() => [] as string[]) : [source];
  const objects: StreamQuarantineObject[] = [];
  const damaged: DamagedQuarantine[] = [];
  for (const name of sources.sort()) {
    const folder = path.join(dir, name);
    const files = (await readdir(folder).catch(() => [] as string[])).filter((f) =>
      f.endsWith('.jsonl'),
    );
    for (const file of files.sort()) {
      const location = path.join(folder, file);
      try {
        objects.push({
          source: name,
          day: file.slice(0, -'.jsonl'.length),
          location,
          sourceLocation: folder,
          text: await readFile(location, 'utf8'),
        });
      } catch (error) {
        damaged.push({ location, problem: unreadable(error) });
      }
    }
  }
  return { objects, damaged };
}

/** Per source (by name): records, counts per reason, days, and the newest `examples` records. */
export function summarizeStreamQuarantine(
  read: StreamQuarantineRead,
  examples: number,
): StreamQuarantineSummary {
  const damaged = [...read.damaged];
  const bySource = new Map<
    string,
    {
      location: string;
      reasons: Record<string, number>;
      days: Set<string>;
      all: StreamQuarantineExample[];
    }
  >();
  for (const object of read.objects) {
    const parsed = parseQuarantineLines(object.text, object.location);
    damaged.push(...parsed.damaged);
    if (parsed.lines.length === 0) continue;
    const entry = bySource.get(object.source) ?? {
      location: object.sourceLocation,
      reasons: {},
      days: new Set<string>(),
      all: [],
    };
    entry.days.add(object.day);
    for (const line of parsed.lines) {
      const reason = line.reasons.join('; ');
      const rule = streamRule(reason);
      entry.reasons[rule] = (entry.reasons[rule] ?? 0) + 1;
      const { kinesis, data } = line.row as { kinesis?: unknown; data?: unknown };
      entry.all.push({
        day: object.day,
        reason,
        ...(kinesis === undefined ? {} : { kinesis }),
        data,
      });
    }
    bySource.set(object.source, entry);
  }
  const sources = [...bySource.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([source, entry]) => ({
      source,
      records: entry.all.length,
      reasons: entry.reasons,
      days: [...entry.days].sort(),
      location: entry.location,
      // Objects are read in key order (day, then invocation time): the newest are last.
      examples: [...entry.all].reverse().slice(0, Math.max(0, examples)),
    }));
  damaged.sort((a, b) => a.location.localeCompare(b.location) || (a.line ?? 0) - (b.line ?? 0));
  return { sources, damaged };
}

/** A reason without the record's own text: `the record is not JSON: Unexpected …` → its kind. */
function streamRule(reason: string): string {
  const notJson = 'the record is not JSON';
  return reason.startsWith(`${notJson}:`) ? notJson : ruleOf(reason);
}
