import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';

/** A record as lambdas/stream-push quarantines it. */
const record = (day: string, sequenceNumber: string, reason: string, data: unknown) =>
  `${JSON.stringify({
    view: 'orders',
    runId: day,
    reasons: [reason],
    row: {
      kinesis: { shardId: 'shardId-000000000001', sequenceNumber, partitionKey: 'C1' },
      data,
    },
  })}\n`;
const missing = 'amount: is missing; send null for no value';

let bucket: MemoryBucket;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket', { pageSize: 2 });
});
afterAll(() => bucket.close());

describe('fstore quarantine stream on an AWS environment (loopback S3)', () => {
  it('lists refused records per source with their reasons, and reports a damaged object without failing', async () => {
    const put = (key: string, text: string) => bucket.objects.set(key, Buffer.from(text));
    put(
      'quarantine/_stream/orders/2026-03-01/1700000000000-aaaaaa-part-00001.jsonl',
      record('2026-03-01', '101', missing, { order_id: 'O1' }) +
        record('2026-03-01', '102', 'the record is not JSON: Unexpected end of JSON input', '{"a'),
    );
    put(
      'quarantine/_stream/orders/2026-03-02/1700000000001-bbbbbb-part-00001.jsonl',
      `${record('2026-03-02', '103', missing, { order_id: 'O3' })}{"cut off`,
    );
    const awsEnv = {
      ...bucket.env,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    const args = ['--env', 'dev', 'quarantine', 'stream', '--bucket', 'offline-bucket'];
    const json = await runFstore([...args, '--json'], { env: awsEnv });
    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout);
    expect(listed.sources).toHaveLength(1);
    expect(listed.sources[0]).toMatchObject({
      source: 'orders',
      records: 3,
      reasons: { [missing]: 2, 'the record is not JSON': 1 },
      days: ['2026-03-01', '2026-03-02'],
      location: 's3://offline-bucket/quarantine/_stream/orders/',
    });
    expect(listed.sources[0].examples[0]).toMatchObject({
      day: '2026-03-02',
      reason: missing,
      kinesis: { sequenceNumber: '103' },
      data: { order_id: 'O3' },
    });
    expect(listed.damaged).toEqual([
      {
        location:
          's3://offline-bucket/quarantine/_stream/orders/2026-03-02/1700000000001-bbbbbb-part-00001.jsonl',
        line: 2,
        problem: expect.stringMatching(/^not JSON/),
      },
    ]);

    const text = await runFstore([...args, '--source', 'orders'], { env: awsEnv });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`${missing}: 2`);
    expect(text.stdout).toContain('shardId-000000000001 103');
    expect(text.stderr).toContain('line 2');
  });

  it('refuses an AWS environment without its bucket, naming the stack output', async () => {
    const result = await runFstore(['--env', 'dev', 'quarantine', 'stream'], {
      env: { FSTORE_OFFLINE_BUCKET: '' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('OfflineBucketName');
  });
});

describe('fstore quarantine stream on a local environment', () => {
  it('reads quarantine/_stream/<source>/<day>.jsonl and says when nothing was refused', async () => {
    const dataDir = await makeTempDir('quarantine-stream');
    const empty = await runFstore(['--data-dir', dataDir, 'quarantine', 'stream']);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toContain('no quarantined stream records');
    const dir = path.join(dataDir, 'local', 'quarantine', '_stream', 'orders');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, '2026-03-01.jsonl'),
      record('2026-03-01', '7', missing, { order_id: 'O7' }),
    );
    const result = await runFstore([
      '--data-dir',
      dataDir,
      'quarantine',
      'stream',
      '--source',
      'orders',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).sources[0]).toMatchObject({ source: 'orders', records: 1 });
  });

  it('refuses a --source that is not a source, with the list of sources', async () => {
    const result = await runFstore(['quarantine', 'stream', '--source', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--source nope is not a source');
    expect(result.stderr).toContain('orders');
  });
});
