import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { s3QuarantineFiles, summarizeQuarantine } from '../../../lib/quality/quarantine-reader.ts';

const s3 = mockClient(S3Client);
// Only transformToString is read; the cast stands in for the SDK's stream type.
const body = (text: string) => ({ Body: { transformToString: async () => text } as never });
const line = (id: string, reasons: string[]) =>
  `${JSON.stringify({ view: 'profile', runId: 'r', reasons, row: { customer_id: id } })}\n`;

describe('quarantined rows on S3', () => {
  beforeEach(() => s3.reset());

  it('joins the parts of each run across listing pages and counts rows per broken rule, newest run first', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [
          {
            Key: 'quarantine/profile/run-a/1-part-00001.jsonl',
            LastModified: new Date('2026-03-01'),
          },
          {
            Key: 'quarantine/profile/run-b/1-part-00001.jsonl',
            LastModified: new Date('2026-03-02'),
          },
        ],
        NextContinuationToken: 'more',
      })
      .resolvesOnce({
        Contents: [
          {
            Key: 'quarantine/profile/run-a/1-part-00002.jsonl',
            LastModified: new Date('2026-03-01'),
          },
        ],
      });
    s3.on(GetObjectCommand, { Key: 'quarantine/profile/run-a/1-part-00001.jsonl' }).resolves(
      body(line('C1', ['age = 7 is below min 18'])),
    );
    s3.on(GetObjectCommand, { Key: 'quarantine/profile/run-a/1-part-00002.jsonl' }).resolves(
      body(line('C2', ['age = 9 is below min 18', 'plan = "x" is not one of ["a"]'])),
    );
    s3.on(GetObjectCommand, { Key: 'quarantine/profile/run-b/1-part-00001.jsonl' }).resolves(
      body(line('C3', ['plan is null but the feature is not nullable'])),
    );
    const files = await s3QuarantineFiles(
      new S3Client({ region: 'eu-west-1' }),
      'offline',
      'quarantine/',
      'profile',
    );
    expect(
      s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.ContinuationToken),
    ).toEqual([undefined, 'more']);
    const runs = summarizeQuarantine(files, 5);
    expect(runs.map((r) => [r.runId, r.rows, r.rules, r.location])).toEqual([
      [
        'run-b',
        1,
        { 'plan is null but the feature is not nullable': 1 },
        's3://offline/quarantine/profile/run-b/',
      ],
      [
        'run-a',
        2,
        { 'age below min 18': 2, 'plan not one of ["a"]': 1 },
        's3://offline/quarantine/profile/run-a/',
      ],
    ]);
  });
});
