import { randomBytes } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** A row kept out of the online store, with why. */
export interface QuarantinedRow {
  readonly row: Readonly<Record<string, unknown>>;
  readonly reasons: readonly string[];
}

/**
 * Where rows that break constraints are kept so nothing is silently lost: JSON lines, one
 * object `{ view, runId, reasons, row }` per row. `flush()` makes the rows added so far durable;
 * the materializer flushes before it records a checkpoint.
 */
export interface QuarantineSink {
  /** Where the rows of this run go, for summaries and `fstore status`. */
  readonly location: string;
  add(rows: readonly QuarantinedRow[]): void;
  flush(): Promise<void>;
}

export interface QuarantineRun {
  readonly view: string;
  readonly runId: string;
}

function lines(run: QuarantineRun, rows: readonly QuarantinedRow[]): string {
  return rows
    .map((r) =>
      JSON.stringify(
        { view: run.view, runId: run.runId, reasons: r.reasons, row: r.row },
        (_, v) => (typeof v === 'bigint' ? v.toString() : v),
      ),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** Locally: `<dir>/<view>/<runId>.jsonl`, appended at each flush. */
export function fileQuarantine(dir: string, run: QuarantineRun): QuarantineSink {
  const file = path.join(dir, run.view, `${run.runId}.jsonl`);
  let pending: QuarantinedRow[] = [];
  return {
    location: file,
    add(rows) {
      pending.push(...rows);
    },
    async flush() {
      if (pending.length === 0) return;
      const text = lines(run, pending);
      await mkdir(path.dirname(file), { recursive: true });
      await appendFile(file, text);
      pending = [];
    },
  };
}

/**
 * On AWS: one object per flush under `s3://<bucket>/<prefix><view>/<runId>/`, named by
 * invocation and part so a resumed run adds objects instead of replacing them.
 */
export function s3Quarantine(
  s3: S3Client,
  bucket: string,
  prefix: string,
  run: QuarantineRun,
): QuarantineSink {
  const folder = `${prefix}${run.view}/${run.runId}/`;
  let pending: QuarantinedRow[] = [];
  let part = 0;
  const invocation = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  return {
    location: `s3://${bucket}/${folder}`,
    add(rows) {
      pending.push(...rows);
    },
    async flush() {
      if (pending.length === 0) return;
      part += 1;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${folder}${invocation}-part-${String(part).padStart(5, '0')}.jsonl`,
          Body: lines(run, pending),
          ContentType: 'application/x-ndjson',
        }),
      );
      pending = [];
    },
  };
}
