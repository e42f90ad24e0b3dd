import { describe, expect, it } from 'vitest';
import { compactStatements } from '../../../lib/iam/offline-policy.ts';
import { compactionLockKey } from '../../../lib/offline/s3-compact-record.ts';

const bucket = 'arn:aws:s3:::b1';
const recordPattern = `${'?'.repeat(64)}/${'?'.repeat(8)}t${'?'.repeat(6)}-${'?'.repeat(8)}.json`;
const sources = [
  { name: 'orders', s3Prefix: 'offline/orders/' },
  { name: 'customer_profiles', s3Prefix: 'offline/customer_profiles/' },
];

describe('the policy of fstore compact --env <aws>', () => {
  const statements = compactStatements(bucket, sources);

  it('reads each source’s objects, records and staged pushes, lists its delivery errors, writes merged objects, compaction records, the lock and the ingest record of pushed rows, deletes data objects, staged pushes and the lock only', () => {
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [
          `${bucket}/offline/orders/*`,
          `${bucket}/offline/customer_profiles/*`,
          `${bucket}/offline/_ingests/orders/*`,
          `${bucket}/offline/_ingests/customer_profiles/*`,
          `${bucket}/offline/_push/orders/*`,
          `${bucket}/offline/_push/customer_profiles/*`,
        ],
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [bucket],
        Condition: {
          StringLike: {
            's3:prefix': [
              'offline/orders/*',
              'offline/customer_profiles/*',
              'offline/_ingests/orders/*',
              'offline/_ingests/customer_profiles/*',
              'offline/_push/orders/*',
              'offline/_push/customer_profiles/*',
            ],
          },
        },
      },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: [
          `${bucket}/offline/orders/*`,
          `${bucket}/offline/customer_profiles/*`,
          `${bucket}/offline/_ingests/orders/compactions/*`,
          `${bucket}/offline/_ingests/customer_profiles/compactions/*`,
          `${bucket}/offline/_push/orders/*`,
          `${bucket}/offline/_push/customer_profiles/*`,
        ],
      },
      {
        Effect: 'Allow',
        Action: ['s3:DeleteObject'],
        Resource: [
          `${bucket}/offline/orders/*`,
          `${bucket}/offline/customer_profiles/*`,
          `${bucket}/offline/_push/orders/*`,
          `${bucket}/offline/_push/customer_profiles/*`,
          `${bucket}/offline/_ingests/orders/compactions/_lock.json`,
          `${bucket}/offline/_ingests/customer_profiles/compactions/_lock.json`,
        ],
      },
      {
        // The commit record of pushed rows' ingest (ADR 0016), in the ingest layout only.
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: [
          `${bucket}/offline/_ingests/orders/${recordPattern}`,
          `${bucket}/offline/_ingests/customer_profiles/${recordPattern}`,
        ],
      },
      {
        // Counting what Firehose could not deliver (the run's summary and PushErrorObjects).
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [bucket],
        Condition: {
          StringEquals: {
            's3:prefix': [
              'offline/_push-errors/orders/',
              'offline/_push-errors/customer_profiles/',
            ],
          },
        },
      },
    ]);
  });

  it('writes records only as compactions or in the ingest layout (pushed rows), deletes none, and touches no other prefix', () => {
    const resources = (action: string) =>
      statements.filter((s) => s.Action.includes(action)).flatMap((s) => s.Resource as string[]);
    for (const resource of resources('s3:PutObject'))
      expect(resource.startsWith(`${bucket}/offline/_ingests/`) ? resource : 'ok').toMatch(
        /^ok$|\/compactions\/\*$|\/\?{64}\/\?{8}t\?{6}-\?{8}\.json$/,
      );
    // of the records' folder, the lock object alone may be deleted (released)
    expect(resources('s3:DeleteObject').filter((r) => r.includes('_ingests'))).toEqual([
      `${bucket}/offline/_ingests/orders/compactions/_lock.json`,
      `${bucket}/offline/_ingests/customer_profiles/compactions/_lock.json`,
    ]);
    expect(
      statements
        .flatMap((s) => s.Action)
        .filter((a) => !/^s3:(Get|Put|Delete)Object$|^s3:ListBucket$/.test(a)),
    ).toEqual([]);
  });

  it('grants every request the lock makes: its PutObject and its conditional delete (which needs GetObject too)', () => {
    const allows = (action: string, key: string) =>
      statements.some(
        (s) =>
          s.Action.includes(action) &&
          s.Resource.some((r) =>
            new RegExp(`^${r.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`).test(
              `${bucket}/${key}`,
            ),
          ),
      );
    for (const source of ['orders', 'customer_profiles']) {
      const lock = compactionLockKey(source);
      expect(allows('s3:PutObject', lock)).toBe(true);
      expect(allows('s3:GetObject', lock)).toBe(true);
      expect(allows('s3:DeleteObject', lock)).toBe(true);
      expect(allows('s3:DeleteObject', `offline/_ingests/${source}/compactions/x.json`)).toBe(
        false,
      );
    }
  });
});
