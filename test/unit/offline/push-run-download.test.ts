import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PushIngestRun } from '../../../lib/offline/push-ingest-run.ts';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'eu-west-1' });
const key = 'offline/_push/payments/arrived=2026-03-01/a.parquet';
const chunk = 1024 * 1024;
const bytes = randomBytes(3 * chunk);
let run: PushIngestRun;

beforeEach(async () => {
  s3Mock.reset();
  run = await PushIngestRun.open({
    workDir: await mkdtemp(path.join(tmpdir(), 'fstore-push-run-download-')),
  });
});
afterEach(() => run.close());

/** A GetObject body as the SDK gives it in Node: a stream, which can also be read whole. */
function body(source: AsyncGenerator<Buffer>) {
  const stream = Readable.from(source);
  return Object.assign(stream, {
    transformToByteArray: async () => Buffer.concat(await stream.toArray()),
  });
}

async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** Waits until some file in `dir` holds at least `size` bytes; fails after a while. */
async function untilOnDisk(dir: string, size: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    for (const name of await readdir(dir))
      if ((await stat(path.join(dir, name))).size >= size) return;
    await sleep(10);
  }
  throw new Error(`nothing in ${dir} reached ${size} bytes: the body is not written as it arrives`);
}

async function* whole(): AsyncGenerator<Buffer> {
  for (let start = 0; start < bytes.length; start += chunk)
    yield bytes.subarray(start, start + chunk);
}

async function* cutAfterFirstChunk(): AsyncGenerator<Buffer> {
  yield bytes.subarray(0, chunk);
  throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

describe("a push ingest run's download of a staged object", () => {
  it('writes the body to disk as it arrives, not once the whole object is in memory, with the same bytes', async () => {
    const dir = run.dir;
    async function* paced(): AsyncGenerator<Buffer> {
      yield bytes.subarray(0, chunk);
      await untilOnDisk(dir, chunk);
      yield bytes.subarray(chunk);
    }
    s3Mock.on(GetObjectCommand).callsFake(() => ({ Body: body(paced()), ETag: '"e1"' }));
    const file = await run.local(s3, 'bucket', { key }, new AbortController().signal);
    expect((await readFile(file)).equals(bytes)).toBe(true);
  });

  it('downloads again when the body breaks off mid-way, keeping no partial file', async () => {
    let gets = 0;
    s3Mock.on(GetObjectCommand).callsFake(() => ({
      Body: body(gets++ === 0 ? cutAfterFirstChunk() : whole()),
      ETag: '"e1"',
    }));
    const file = await run.local(s3, 'bucket', { key }, new AbortController().signal);
    expect(gets).toBe(2);
    expect((await readFile(file)).equals(bytes)).toBe(true);
    expect(await filesIn(run.dir)).toEqual([path.basename(file)]);
  });

  it('fails naming the object when every body breaks off, leaving no file; the next call downloads it', async () => {
    s3Mock
      .on(GetObjectCommand)
      .callsFake(() => ({ Body: body(cutAfterFirstChunk()), ETag: '"e1"' }));
    const signal = new AbortController().signal;
    await expect(run.local(s3, 'bucket', { key }, signal)).rejects.toThrow(
      new RegExp(`${key}.*socket hang up`),
    );
    expect(await filesIn(run.dir)).toEqual([]);
    s3Mock.on(GetObjectCommand).callsFake(() => ({ Body: body(whole()), ETag: '"e1"' }));
    const file = await run.local(s3, 'bucket', { key, etag: '"e1"' }, signal);
    expect((await readFile(file)).equals(bytes)).toBe(true);
  });
});
