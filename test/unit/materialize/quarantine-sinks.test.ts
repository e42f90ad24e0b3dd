import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileQuarantine, s3Quarantine } from '../../../lib/materialize/quarantine.ts';

const run = { view: 'customer_profile', runId: 'run-7' };
const bad = (id: number) => ({
  row: { customer_id: id, score: 2n ** 63n - 1n },
  reasons: ['score above max'],
});

describe('the local quarantine file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fstore-quarantine-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('appends one JSON line per row at each flush, under <view>/<runId>.jsonl, bigints as text', async () => {
    const sink = fileQuarantine(dir, run);
    expect(sink.location).toBe(path.join(dir, 'customer_profile', 'run-7.jsonl'));
    sink.add([bad(1), bad(2)]);
    await sink.flush();
    sink.add([bad(3)]);
    await sink.flush();
    const lines = (await readFile(sink.location, 'utf8')).split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((l) => JSON.parse(l))).toEqual(
      [1, 2, 3].map((id) => ({
        view: 'customer_profile',
        runId: 'run-7',
        reasons: ['score above max'],
        row: { customer_id: id, score: '9223372036854775807' },
      })),
    );
  });

  it('writes no file at all when no row was quarantined, and each row only once', async () => {
    const sink = fileQuarantine(dir, run);
    await sink.flush();
    expect(await readdir(dir)).toEqual([]);
    sink.add([bad(1)]);
    await sink.flush();
    await sink.flush();
    expect((await readFile(sink.location, 'utf8')).trim().split('\n')).toHaveLength(1);
  });
});

describe('the S3 quarantine', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());

  it('puts one numbered NDJSON object per flush under <prefix><view>/<runId>/', async () => {
    s3.on(PutObjectCommand).resolves({});
    const sink = s3Quarantine(new S3Client({}), 'bucket', 'quarantine/', run);
    expect(sink.location).toBe('s3://bucket/quarantine/customer_profile/run-7/');
    sink.add([bad(1)]);
    await sink.flush();
    await sink.flush();
    sink.add([bad(2), bad(3)]);
    await sink.flush();
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    const [first, second] = puts;
    expect(first?.Bucket).toBe('bucket');
    expect(first?.ContentType).toBe('application/x-ndjson');
    expect(first?.Key).toMatch(
      /^quarantine\/customer_profile\/run-7\/\d+-[0-9a-f]{6}-part-00001\.jsonl$/,
    );
    expect(second?.Key).toBe(first?.Key?.replace('part-00001', 'part-00002'));
    const rowsOf = (body: unknown) =>
      String(body)
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).row.customer_id);
    expect(rowsOf(first?.Body)).toEqual([1]);
    expect(rowsOf(second?.Body)).toEqual([2, 3]);
    expect(String(second?.Body).endsWith('}\n')).toBe(true);
  });

  it('names the objects of two invocations of one run apart, so a resumed run adds, not replaces', async () => {
    s3.on(PutObjectCommand).resolves({});
    for (const _ of [1, 2]) {
      const sink = s3Quarantine(new S3Client({}), 'bucket', 'q/', run);
      sink.add([bad(1)]);
      await sink.flush();
    }
    const keys = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);
    expect(new Set(keys).size).toBe(2);
  });
});
