import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  type DamagedQuarantine,
  parseQuarantineLines,
  type QuarantinedLine,
  ruleOf,
} from './quarantine-lines.ts';

/** The JSON lines one materialization run quarantined, wherever they are kept. */
export interface QuarantineFile {
  readonly runId: string;
  readonly location: string;
  readonly modified: number;
  readonly text: string;
}

export interface QuarantineSummary {
  readonly runId: string;
  readonly location: string;
  readonly rows: number;
  /** Broken rule → how many rows broke it, e.g. `score above max 100` → 3. */
  readonly rules: Readonly<Record<string, number>>;
  readonly examples: readonly QuarantinedLine[];
  /** Lines that could not be read (not JSON, not a record); the others are counted. */
  readonly damaged: readonly DamagedQuarantine[];
}

/** Locally: `<dir>/<runId>.jsonl` per run. */
export async function localQuarantineFiles(dir: string): Promise<QuarantineFile[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((f) =>
    f.endsWith('.jsonl'),
  );
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      return {
        runId: name.slice(0, -'.jsonl'.length),
        location: file,
        modified: (await stat(file)).mtimeMs,
        text: await readFile(file, 'utf8'),
      };
    }),
  );
}

/** On AWS: `s3://<bucket>/<prefix><view>/<runId>/<part>.jsonl`, parts of a run joined. */
export async function s3QuarantineFiles(
  s3: S3Client,
  bucket: string,
  prefix: string,
  view: string,
): Promise<QuarantineFile[]> {
  const folder = `${prefix}${view}/`;
  const byRun = new Map<string, { keys: string[]; modified: number }>();
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: folder,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? []) {
      const key = object.Key ?? '';
      const runId = key.slice(folder.length).split('/')[0];
      if (!runId || !key.endsWith('.jsonl')) continue;
      const run = byRun.get(runId) ?? { keys: [], modified: 0 };
      run.keys.push(key);
      run.modified = Math.max(run.modified, object.LastModified?.getTime() ?? 0);
      byRun.set(runId, run);
    }
    token = page.NextContinuationToken;
  } while (token);
  const files: QuarantineFile[] = [];
  for (const [runId, run] of byRun) {
    const parts = await Promise.all(
      run.keys.sort().map(async (key) => {
        const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return (await response.Body?.transformToString()) ?? '';
      }),
    );
    files.push({
      runId,
      location: `s3://${bucket}/${folder}${runId}/`,
      modified: run.modified,
      text: parts.join(''),
    });
  }
  return files;
}

/** Per run, newest first: rows, counts per broken rule, the first `examples` rows. */
export function summarizeQuarantine(
  files: readonly QuarantineFile[],
  examples: number,
): QuarantineSummary[] {
  return [...files]
    .sort((a, b) => b.modified - a.modified)
    .map((file) => {
      const { lines, damaged } = parseQuarantineLines(file.text, file.location);
      const rules: Record<string, number> = {};
      for (const line of lines)
        for (const reason of line.reasons) {
          const rule = ruleOf(reason);
          rules[rule] = (rules[rule] ?? 0) + 1;
        }
      return {
        runId: file.runId,
        location: file.location,
        rows: lines.length,
        rules,
        examples: lines.slice(0, examples),
        damaged,
      };
    });
}
