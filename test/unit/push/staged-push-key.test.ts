import { describe, expect, it } from 'vitest';
import type { IngestRecord } from '../../../lib/offline/ingest-manifest.ts';
import { pushLogOrder } from '../../../lib/push/push-log-order.ts';
import { stagedPushKey } from '../../../lib/push/staged-push-key.ts';

describe('a staged push key (fstore_push_key, ADR 0020 "Ties for `last`")', () => {
  const at = Date.parse('2026-03-01T12:00:00.123Z');

  it('is the push time stamped as a push log name, then the push id, so text order is clock order', () => {
    expect(stagedPushKey(at, 'a'.repeat(32))).toBe(`20260301T120000.123000-${'a'.repeat(32)}`);
    expect(stagedPushKey(at, 'f'.repeat(32)) < stagedPushKey(at + 1, '0'.repeat(32))).toBe(true);
  });

  it('takes a stream record id as 32 hex of its hash, so a commit record naming it is read as any push key', () => {
    const key = stagedPushKey(at, 'kinesis-shardId-000000000000-4959000000');
    expect(key).toMatch(/^20260301T120000\.123000-[0-9a-f]{32}$/);
    expect(stagedPushKey(at, 'kinesis-shardId-000000000000-4959000000')).toBe(key);
    expect(stagedPushKey(at, 'kinesis-shardId-000000000000-4959000001')).not.toBe(key);
    const record = {
      ingestId: 'i1',
      source: 'payments',
      rows: 2,
      firstSeq: 100,
      pushLogs: [
        [0, stagedPushKey(at, 'a'.repeat(32))],
        [1, key],
      ],
    } as unknown as IngestRecord;
    const upTo = pushLogOrder([record], 'payments');
    expect([upTo(99n), upTo(100n), upTo(101n)]).toEqual([
      undefined,
      stagedPushKey(at, 'a'.repeat(32)),
      key > stagedPushKey(at, 'a'.repeat(32)) ? key : stagedPushKey(at, 'a'.repeat(32)),
    ]);
  });
});
