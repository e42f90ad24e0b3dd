import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ErasureKey } from '../../../lib/erasure/erasure-keys.ts';
import { eraseS3QuarantinedRows } from '../../../lib/erasure/s3-quarantine-erasure.ts';

const s3 = new S3Client({ region: 'us-east-1' });
const s3Mock = mockClient(s3);
beforeEach(() => s3Mock.reset());

const c1: ErasureKey[] = [{ key: 'customer_id', type: 'string', value: 'C1' }];
const row = (customer_id: string) => JSON.stringify({ view: 'v', row: { customer_id } });
const erase = (dryRun: boolean) =>
  eraseS3QuarantinedRows({ s3, bucket: 'b', keys: c1, dryRun, backoffMs: 0 });

describe('erasing quarantined rows on S3: the listing of quarantine/ versions', () => {
  it('reads every page of ListObjectVersions and only the .jsonl objects', async () => {
    s3Mock
      .on(ListObjectVersionsCommand)
      .callsFake((input: { KeyMarker?: string; VersionIdMarker?: string }) =>
        input.KeyMarker === 'quarantine/v/r1/a.jsonl' && input.VersionIdMarker === 'a1'
          ? { Versions: [{ Key: 'quarantine/v/r2/b.jsonl', VersionId: 'b1', IsLatest: true }] }
          : {
              Versions: [
                { Key: 'quarantine/v/r1/a.jsonl', VersionId: 'a1', IsLatest: true },
                { Key: 'quarantine/v/r1/_SUCCESS', VersionId: 's1', IsLatest: true },
              ],
              IsTruncated: true,
              NextKeyMarker: 'quarantine/v/r1/a.jsonl',
              NextVersionIdMarker: 'a1',
            },
      );
    const bodies: Record<string, string> = {
      a1: `${row('C2')}\n`,
      b1: `${row('C1')}\n${row('C3')}\n`,
    };
    s3Mock.on(GetObjectCommand).callsFake((input: { VersionId: string }) => ({
      Body: { transformToString: async () => bodies[input.VersionId] ?? '' },
    }));

    expect(await erase(true)).toEqual([{ file: 'v/r2/b.jsonl', rows: 1 }]);
    expect(s3Mock.commandCalls(ListObjectVersionsCommand)).toHaveLength(2);
    const read = s3Mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input.VersionId);
    expect(read.sort()).toEqual(['a1', 'b1']);
  });

  it('refuses a truncated page without a next marker before reading or changing anything', async () => {
    s3Mock.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: 'quarantine/v/r1/a.jsonl', VersionId: 'a1', IsLatest: true }],
      IsTruncated: true,
    });
    await expect(erase(false)).rejects.toThrow(/truncated page without a next marker/);
    expect(s3Mock.commandCalls(GetObjectCommand)).toEqual([]);
    expect(s3Mock.commandCalls(PutObjectCommand)).toEqual([]);
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toEqual([]);
  });
});
