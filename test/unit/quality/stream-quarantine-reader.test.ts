import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { summarizeQuarantine } from '../../../lib/quality/quarantine-reader.ts';
import {
  localStreamQuarantineFiles,
  s3StreamQuarantineFiles,
  summarizeStreamQuarantine,
} from '../../../lib/quality/stream-quarantine-reader.ts';

const s3 = mockClient(S3Client);
// Only transformToString is read; the cast stands in for the SDK's stream type.
const body = (text: string) => ({ Body: { transformToString: async () => text } as never });
/** A line as lambdas/stream-push writes it (s3Quarantine with the source as its view). */
const record = (
  source: string,
  day: string,
  sequenceNumber: string,
  reason: string,
  data: unknown,
) =>
  `${JSON.stringify({
    view: source,
    runId: day,
    reasons: [reason],
    row: {
      kinesis: { shardId: 'shardId-000000000000', sequenceNumber, partitionKey: 'C1' },
      data,
    },
  })}\n`;
const listed = (key: string, day: string) => ({ Key: key, LastModified: new Date(day) });

describe('stream quarantine on S3 (quarantine/_stream/<source>/<day>/<part>.jsonl)', () => {
  beforeEach(() => s3.reset());

  it('counts records per source and reason across days and listing pages, with where each record is in its stream', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [
          listed('quarantine/_stream/orders/2026-03-01/1-aa-part-00001.jsonl', '2026-03-01'),
          listed('quarantine/_stream/orders/2026-03-02/2-bb-part-00001.jsonl', '2026-03-02'),
        ],
        NextContinuationToken: 'more',
      })
      .resolvesOnce({
        Contents: [
          listed('quarantine/_stream/profiles/2026-03-02/3-cc-part-00001.jsonl', '2026-03-02'),
        ],
      });
    s3.on(GetObjectCommand, {
      Key: 'quarantine/_stream/orders/2026-03-01/1-aa-part-00001.jsonl',
    }).resolves(
      body(
        record('orders', '2026-03-01', '49', 'the record is not JSON: Unexpected token', 'x{') +
          record('orders', '2026-03-01', '50', 'amount: is missing; send null for no value', {
            order_id: 'O1',
          }),
      ),
    );
    s3.on(GetObjectCommand, {
      Key: 'quarantine/_stream/orders/2026-03-02/2-bb-part-00001.jsonl',
    }).resolves(
      body(
        record('orders', '2026-03-02', '51', 'amount: is missing; send null for no value', {
          order_id: 'O2',
        }),
      ),
    );
    s3.on(GetObjectCommand, {
      Key: 'quarantine/_stream/profiles/2026-03-02/3-cc-part-00001.jsonl',
    }).resolves(
      body(record('profiles', '2026-03-02', '7', 'the record is not UTF-8 text', '/w==')),
    );

    const read = await s3StreamQuarantineFiles(new S3Client({ region: 'eu-west-1' }), 'offline');
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input.Prefix).toBe(
      'quarantine/_stream/',
    );
    const summary = summarizeStreamQuarantine(read, 2);
    expect(summary.damaged).toEqual([]);
    expect(
      summary.sources.map((s) => [s.source, s.records, s.reasons, s.days, s.location]),
    ).toEqual([
      [
        'orders',
        3,
        { 'amount: is missing; send null for no value': 2, 'the record is not JSON': 1 },
        ['2026-03-01', '2026-03-02'],
        's3://offline/quarantine/_stream/orders/',
      ],
      [
        'profiles',
        1,
        { 'the record is not UTF-8 text': 1 },
        ['2026-03-02'],
        's3://offline/quarantine/_stream/profiles/',
      ],
    ]);
    // Newest first, each with its reason, its place in the stream and what it held.
    expect(summary.sources[0]?.examples).toEqual([
      {
        day: '2026-03-02',
        reason: 'amount: is missing; send null for no value',
        kinesis: { shardId: 'shardId-000000000000', sequenceNumber: '51', partitionKey: 'C1' },
        data: { order_id: 'O2' },
      },
      {
        day: '2026-03-01',
        reason: 'amount: is missing; send null for no value',
        kinesis: { shardId: 'shardId-000000000000', sequenceNumber: '50', partitionKey: 'C1' },
        data: { order_id: 'O1' },
      },
    ]);
  });

  it('reads one source only when asked', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    await s3StreamQuarantineFiles(new S3Client({ region: 'eu-west-1' }), 'offline', 'orders');
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input.Prefix).toBe(
      'quarantine/_stream/orders/',
    );
  });

  it('reports a damaged object (a line that is not a quarantine record, an object gone between list and read) and still counts the good records', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        listed('quarantine/_stream/orders/2026-03-01/1-aa-part-00001.jsonl', '2026-03-01'),
        listed('quarantine/_stream/orders/2026-03-01/1-aa-part-00002.jsonl', '2026-03-01'),
      ],
    });
    s3.on(GetObjectCommand, {
      Key: 'quarantine/_stream/orders/2026-03-01/1-aa-part-00001.jsonl',
    }).resolves(
      body(
        `${record('orders', '2026-03-01', '1', 'the record is not UTF-8 text', 'AA==')}{"trunc\n[1,2]\n`,
      ),
    );
    s3.on(GetObjectCommand, {
      Key: 'quarantine/_stream/orders/2026-03-01/1-aa-part-00002.jsonl',
    }).rejects(
      Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }),
    );
    const summary = summarizeStreamQuarantine(
      await s3StreamQuarantineFiles(new S3Client({ region: 'eu-west-1' }), 'offline'),
      3,
    );
    expect(summary.sources.map((s) => [s.source, s.records])).toEqual([['orders', 1]]);
    expect(summary.damaged).toEqual([
      {
        location: 's3://offline/quarantine/_stream/orders/2026-03-01/1-aa-part-00001.jsonl',
        line: 2,
        problem: expect.stringMatching(/^not JSON/),
      },
      {
        location: 's3://offline/quarantine/_stream/orders/2026-03-01/1-aa-part-00001.jsonl',
        line: 3,
        problem: 'not a quarantine record (an object with reasons and row)',
      },
      {
        location: 's3://offline/quarantine/_stream/orders/2026-03-01/1-aa-part-00002.jsonl',
        problem: 'could not be read: NoSuchKey: The specified key does not exist.',
      },
    ]);
  });
});

describe('stream quarantine in a local environment (quarantine/_stream/<source>/<day>.jsonl)', () => {
  it('reads the same records from files, and nothing when there is no folder', async () => {
    const dir = path.join(tmpdir(), `fstore-stream-quarantine-${process.pid}-${Date.now()}`);
    expect(await localStreamQuarantineFiles(dir)).toEqual({ objects: [], damaged: [] });
    await mkdir(path.join(dir, 'orders'), { recursive: true });
    await writeFile(
      path.join(dir, 'orders', '2026-03-01.jsonl'),
      `${record('orders', '2026-03-01', '9', 'the record is not UTF-8 text', 'AA==')}oops\n`,
    );
    const summary = summarizeStreamQuarantine(await localStreamQuarantineFiles(dir), 1);
    expect(summary.sources.map((s) => [s.source, s.records, s.days])).toEqual([
      ['orders', 1, ['2026-03-01']],
    ]);
    expect(summary.damaged).toEqual([
      {
        location: path.join(dir, 'orders', '2026-03-01.jsonl'),
        line: 2,
        problem: expect.stringMatching(/^not JSON/),
      },
    ]);
    expect(
      (await localStreamQuarantineFiles(dir, 'profiles')).objects,
      'another source has no records',
    ).toEqual([]);
  });
});

describe("a view's quarantine with a damaged line", () => {
  it('counts the readable rows and reports the damaged line instead of failing', () => {
    const good = JSON.stringify({
      view: 'profile',
      runId: 'r',
      reasons: ['age = 7 is below min 18'],
      row: { customer_id: 'C1' },
    });
    const [run] = summarizeQuarantine(
      [{ runId: 'r', location: '/q/profile/r.jsonl', modified: 1, text: `${good}\n{"cut` }],
      3,
    );
    expect(run?.rows).toBe(1);
    expect(run?.damaged).toEqual([
      { location: '/q/profile/r.jsonl', line: 2, problem: expect.stringMatching(/^not JSON/) },
    ]);
  });
});
