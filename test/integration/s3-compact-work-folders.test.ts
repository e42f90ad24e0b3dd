import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import { compactS3Source } from '../../lib/offline/s3-compact.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

/** Above Linux's highest pid_max (2^22): no process has it. */
const deadPid = 4_194_305;

let bucket: MemoryBucket;
let s3: S3Client;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
  s3 = memoryBucketClient(bucket);
  duckdb = await openDuckdb();
  scratch = await makeTempDir('s3-compact-work-folders');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => {
  bucket.objects.clear();
  bucket.beforeRequest = undefined;
});

async function parquet(seqs: number[]): Promise<Buffer> {
  const file = path.join(scratch, `p-${Math.random().toString(16).slice(2)}.parquet`);
  await duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ${seqs.map((s) => `('C${s % 3}', ${s}.5::DOUBLE, ${s}::BIGINT)`).join(', ')}) t(customer_id, amount, fstore_seq)) TO '${file}' (FORMAT parquet)`,
  );
  return readFile(file);
}

async function folder(parent: string, name: string): Promise<void> {
  await mkdir(path.join(parent, name));
  await writeFile(path.join(parent, name, 'in-0.parquet'), Buffer.alloc(1024));
}

const compact = (workDir: string) =>
  compactS3Source({
    s3,
    bucket: bucket.name,
    region: 'eu-west-1',
    source: 'orders',
    prefix: 'offline/orders/',
    targetBytes: 1024 * 1024,
    keepReplacedMs: 3_600_000,
    workDir,
  });

describe("an S3 compaction's work folder in a reused temporary folder (a warm Lambda's /tmp)", () => {
  it("removes at its start the work folders a killed process left, also one of this process's pid, and keeps a live process's and others' folders", async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'fstore-stale-compactions-'));
    // Killed by a hard timeout: its process is gone.
    await folder(parent, `fstore-compact-${deadPid}-a1B2c3`);
    // Lambda restarts its runtime after a timeout, often under the same pid as before.
    await folder(parent, `fstore-compact-${process.pid}-d4E5f6`);
    // Another process still compacting in the same folder (this test's parent).
    await folder(parent, `fstore-compact-${process.ppid}-g7H8i9`);
    // Push ingest's run folders are its own to sweep.
    await folder(parent, `fstore-push-run-${deadPid}-j1K2l3`);
    await folder(parent, 'fstore-other-work');
    await writeFile(path.join(parent, 'notes.txt'), 'kept');
    // Nothing to merge: the sweep does not wait for a merge to need a folder.
    const result = await compact(parent);
    expect(result.merges).toEqual([]);
    expect((await readdir(parent)).sort()).toEqual(
      [
        `fstore-compact-${process.ppid}-g7H8i9`,
        `fstore-push-run-${deadPid}-j1K2l3`,
        'fstore-other-work',
        'notes.txt',
      ].sort(),
    );
  });

  it('merges in a folder named with its pid, so that a later run can tell it was killed, and removes it after', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'fstore-compaction-folder-'));
    for (const [i, id] of ['20260101t000000-0a1b2c3d', '20260102t000000-1b2c3d4e'].entries()) {
      const key = `offline/orders/dt=2026-03-01/${id}-0.parquet`;
      bucket.objects.set(key, await parquet([i * 10 + 1, i * 10 + 2]));
      bucket.objects.set(
        ingestRecordKey('orders', String(i).repeat(64), id),
        Buffer.from(
          `${JSON.stringify({ ingestId: id, source: 'orders', sha256: String(i).repeat(64), file: 'x.csv', rows: 2, firstSeq: i * 10 + 1, at: '2026-03-01T00:00:00Z', files: [key] })}\n`,
        ),
      );
    }
    const whileMerging: string[][] = [];
    bucket.beforeRequest = async (method, key) => {
      if (method === 'GET' && key.startsWith('offline/orders/dt='))
        whileMerging.push(await readdir(parent));
      return undefined;
    };
    const result = await compact(parent);
    expect(result.merges).toHaveLength(1);
    expect(whileMerging).toHaveLength(2);
    for (const names of whileMerging) {
      expect(names).toHaveLength(1);
      expect(names[0]).toMatch(new RegExp(`^fstore-compact-${process.pid}-`));
    }
    expect(await readdir(parent)).toEqual([]);
  });
});
