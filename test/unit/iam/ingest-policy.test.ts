import { describe, expect, it } from 'vitest';
import { ingestStatements } from '../../../lib/iam/offline-policy.ts';
import { newDataFilesId } from '../../../lib/offline/ingest-manifest.ts';
import { ingestRecordKey } from '../../../lib/offline/ingest-records.ts';
import { compactionLockKey, compactionRecordKey } from '../../../lib/offline/s3-compact-record.ts';
import { iamAllows } from '../../helpers/iam-allows.ts';

const bucket = 'arn:aws:s3:::b1';
const sources = [
  { name: 'orders', s3Prefix: 'offline/orders/' },
  { name: 'customer_profiles', s3Prefix: 'offline/customer_profiles/' },
];
const sha256 = 'ab'.repeat(32);

describe('the policy of fstore ingest --env <aws>', () => {
  const statements = ingestStatements(bucket, sources);
  const allows = (action: string, key: string) => iamAllows(statements, action, `${bucket}/${key}`);

  it('writes data objects and the commit record ingest writes, and reads every record', () => {
    for (const { name, s3Prefix } of sources) {
      const id = newDataFilesId();
      expect(allows('s3:PutObject', `${s3Prefix}dt=2026-12-01/${id}-0.parquet`)).toBe(true);
      expect(allows('s3:DeleteObject', `${s3Prefix}dt=2026-12-01/${id}-0.parquet`)).toBe(true);
      expect(allows('s3:PutObject', ingestRecordKey(name, sha256, id))).toBe(true);
      expect(allows('s3:GetObject', ingestRecordKey(name, sha256, id))).toBe(true);
      expect(allows('s3:GetObject', compactionRecordKey(name, id))).toBe(true);
    }
  });

  it('takes the compaction lock (its commit waits for a retention or delete) but cannot write a compaction record (compact’s commit point)', () => {
    for (const { name } of sources) {
      expect(allows('s3:PutObject', compactionLockKey(name))).toBe(true);
      expect(allows('s3:GetObject', compactionLockKey(name))).toBe(true);
      expect(allows('s3:DeleteObject', compactionLockKey(name))).toBe(true);
      expect(allows('s3:PutObject', compactionRecordKey(name, newDataFilesId()))).toBe(false);
      expect(allows('s3:PutObject', `offline/_ingests/${name}/compactions/x.json`)).toBe(false);
      expect(allows('s3:DeleteObject', `offline/_ingests/${name}/compactions/x.json`)).toBe(false);
      expect(allows('s3:DeleteObject', ingestRecordKey(name, sha256, newDataFilesId()))).toBe(
        false,
      );
    }
  });

  it('writes no record outside the <sha256>/<ingestId>.json layout', () => {
    const id = newDataFilesId();
    for (const key of [
      `offline/_ingests/orders/${sha256}.json`,
      `offline/_ingests/orders/${sha256}/x.json`,
      `offline/_ingests/orders/${id}.json`,
      `offline/_ingests/other/${sha256}/${id}.json`,
    ])
      expect([key, allows('s3:PutObject', key)]).toEqual([key, false]);
  });

  it('holds no Deny, so a role that also compacts keeps its compaction grants', () => {
    expect(statements.map((s) => s.Effect)).not.toContain('Deny');
  });
});
