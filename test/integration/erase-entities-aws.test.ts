import {
  type AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type AwsEraseOptions, eraseEntitiesOnAws } from '../../lib/erasure/erase-entities-aws.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import { compactionLockKey, compactionRecordKey } from '../../lib/offline/s3-compact-record.ts';
import { s3SnapshotKey } from '../../lib/offline/s3-snapshots.ts';
import { newSnapshot } from '../../lib/offline/snapshot-format.ts';
import { useAthenaOnCompactionFixture } from '../helpers/athena-on-compaction-fixture.ts';
import { awsEraseOfC1, fixtureErasePlace } from '../helpers/aws-erase-options.ts';
import {
  ordersDataKey,
  threeIngestIds,
  useS3CompactionFixture,
} from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('erase-entities-aws');
const athena = useAthenaOnCompactionFixture(fixture);
const dynamodb = mockClient(DynamoDBClient);
const [first, second, third] = threeIngestIds;
const quarantined = 'quarantine/customer_stats/run-1/1-part-00001.jsonl';

/** Online items: C1 and C2 under two views; DeleteItem answers what was there. */
let items: Set<string>;

beforeEach(async () => {
  fixture.bucket.objects.clear();
  fixture.bucket.versionDeletes.length = 0;
  await fixture.commitThreeIngests();
  fixture.bucket.objects.set(
    quarantined,
    Buffer.from(
      `${JSON.stringify({ view: 'customer_stats', row: { customer_id: 'C1', amount: -1 } })}\n${JSON.stringify({ view: 'customer_stats', row: { customer_id: 'C2', amount: -2 } })}\n`,
    ),
  );
  items = new Set([
    'customer_stats#v1#customer_id=C1',
    'customer_stats#v1#customer_id=C2',
    'order_totals#v2#customer_id=C1',
    '~state#customer_stats',
  ]);
  dynamodb.reset();
  dynamodb.on(ScanCommand).callsFake(async (input) => {
    // Two pages, to follow LastEvaluatedKey.
    const all = [...items].sort();
    const start = input.ExclusiveStartKey
      ? all.indexOf(String(input.ExclusiveStartKey.pk?.S)) + 1
      : 0;
    const page = all.slice(start, start + 2);
    const last = page.at(-1);
    return {
      Items: page.map((pk) => ({ pk: { S: pk } })),
      ...(start + 2 < all.length && last
        ? { LastEvaluatedKey: { pk: { S: last } } as Record<string, AttributeValue> }
        : {}),
    };
  });
  dynamodb.on(DeleteItemCommand).callsFake(async (input) => {
    const pk = String(input.Key?.pk?.S);
    const had = items.delete(pk);
    return had ? { Attributes: { pk: { S: pk } } } : {};
  });
});

const erase = (extra: Partial<AwsEraseOptions> = {}) =>
  eraseEntitiesOnAws(awsEraseOfC1(fixtureErasePlace(fixture, athena), extra));

const auditObjects = () =>
  [...fixture.bucket.objects.keys()].filter((k) => k.startsWith('_fstore/audit/deletes/'));

describe('fstore delete on AWS (eraseEntitiesOnAws: loopback bucket, Athena answered by DuckDB, DynamoDB mocked)', () => {
  it('rewrites the objects holding the key under one commit, deletes every version of the old ones, the quarantined rows and the online items, and audits hashed keys', async () => {
    const result = await erase();
    expect(result.offline).toEqual([
      {
        source: 'orders',
        rows: 3,
        files: 3,
        replacedFiles: 0,
        uncommittedFiles: 0,
        commit: expect.any(String),
        versionsDeleted: 3,
      },
    ]);
    const rows = await fixture.readable();
    expect(rows.map((r) => Number(r.fstore_seq))).toEqual([2, 3, 11, 12, 21, 23]);
    const commit = result.offline[0]?.commit ?? '';
    expect(fixture.bucket.objects.has(compactionRecordKey('orders', commit))).toBe(true);
    for (const key of [
      ordersDataKey('2026-03-01', first),
      ordersDataKey('2026-03-02', second),
      ordersDataKey('2026-03-01', third),
    ])
      expect(fixture.bucket.versionDeletes).toContain(key);
    // The lock was released.
    expect(fixture.bucket.objects.has(compactionLockKey('orders'))).toBe(false);

    expect(result.quarantine).toEqual([
      { file: 'customer_stats/run-1/1-part-00001.jsonl', rows: 1 },
    ]);
    expect(fixture.bucket.objects.get(quarantined)?.toString()).not.toContain('"C1"');
    expect(fixture.bucket.objects.get(quarantined)?.toString()).toContain('"C2"');

    expect(result.online).toEqual([
      { view: 'customer_stats', items: 1 },
      { view: 'order_totals', items: 1 },
    ]);
    expect([...items].sort()).toEqual([
      'customer_stats#v1#customer_id=C2',
      '~state#customer_stats',
    ]);

    const [auditKey] = auditObjects();
    expect(result.auditObject).toBe(`s3://${fixture.bucket.name}/${auditKey}`);
    const text = fixture.bucket.objects.get(auditKey ?? '')?.toString() ?? '';
    expect(JSON.parse(text)).toMatchObject({
      kind: 'entity-delete',
      env: 'dev',
      keyHash: 'hmac-sha256',
      keys: [{ key: 'customer_id', hash: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) }],
      offline: [{ source: 'orders', rows: 3, files: 3 }],
    });
    expect(text).not.toContain('C1');
  });

  it('a second run finds nothing, changes no data, and succeeds (idempotent)', async () => {
    await erase();
    const data = [...fixture.bucket.objects.keys()].filter((k) => !k.startsWith('_fstore/')).sort();
    const again = await erase();
    expect(again.offline).toEqual([
      {
        source: 'orders',
        rows: 0,
        files: 0,
        replacedFiles: 0,
        uncommittedFiles: 0,
        versionsDeleted: 0,
      },
    ]);
    expect(again.quarantine).toEqual([]);
    expect(again.online).toEqual([]);
    expect(
      [...fixture.bucket.objects.keys()].filter((k) => !k.startsWith('_fstore/')).sort(),
    ).toEqual(data);
    expect(auditObjects()).toHaveLength(2);
  });

  it('deletes for good, unrewritten, an object no reader reads that holds the key (a crashed run left it replaced)', async () => {
    // As after a crash between the commit and the deletes: a record replaces the object.
    const kept = ordersDataKey('2026-03-02', second);
    fixture.bucket.objects.set(
      compactionRecordKey('orders', '20260105t000000-4e5f6a7b'),
      Buffer.from(
        `${JSON.stringify({ kind: 'compaction', ingestId: '20260105t000000-4e5f6a7b', source: 'orders', at: '2026-03-01T00:00:00Z', keepUntil: '2026-03-01T00:00:00Z', files: [], replaces: [kept] })}\n`,
      ),
    );
    const result = await erase();
    expect(result.offline[0]).toMatchObject({ rows: 3, files: 2, replacedFiles: 1 });
    expect(fixture.bucket.objects.has(kept)).toBe(false);
    expect(fixture.bucket.versionDeletes).toContain(kept);
  });

  it('rewrites an object no record names yet (an ingest in flight) at the same key without the key, never deleting it, so the ingest’s commit keeps the other rows', async () => {
    const inflight = '20260104t000000-3d4e5f6a';
    const key = ordersDataKey('2026-03-01', inflight);
    // fstore ingest --env has uploaded its object (C1, C2, C0) and not yet written its record.
    fixture.bucket.objects.set(key, await fixture.committedParquet([40, 41, 42]));
    const result = await erase();
    expect(result.offline[0]).toMatchObject({
      rows: 4,
      files: 3,
      replacedFiles: 0,
      uncommittedFiles: 1,
    });
    expect(fixture.bucket.objects.has(key)).toBe(true);
    // Then it commits, as S3IngestTarget does after its uploads.
    fixture.bucket.objects.set(
      ingestRecordKey('orders', '4'.repeat(64), inflight),
      Buffer.from(
        `${JSON.stringify({ ingestId: inflight, source: 'orders', sha256: '4'.repeat(64), file: 'x.csv', rows: 3, firstSeq: 40, at: '2026-03-01T00:00:00Z', files: [key] })}\n`,
      ),
    );
    const seqs = (await fixture.readable()).map((r) => Number(r.fstore_seq));
    expect(seqs.sort((a, b) => a - b)).toEqual([2, 3, 11, 12, 21, 23, 41, 42]);
  });

  it('a compaction leaves the objects a killed delete’s commit replaced, so the rerun finds them and deletes every version', async () => {
    // As after a delete killed between its commit (keepUntil = the commit time) and its deletes.
    const kept = ordersDataKey('2026-03-02', second);
    fixture.bucket.objects.set(
      compactionRecordKey('orders', '20260105t000000-4e5f6a7b'),
      Buffer.from(
        `${JSON.stringify({ kind: 'compaction', ingestId: '20260105t000000-4e5f6a7b', source: 'orders', at: '2026-03-01T00:00:00Z', keepUntil: '2026-03-01T00:00:00Z', files: [], replaces: [kept], reason: 'entity-delete' })}\n`,
      ),
    );
    await fixture.compactInProcess();
    expect(fixture.bucket.objects.has(kept)).toBe(true);
    await erase();
    expect(fixture.bucket.objects.has(kept)).toBe(false);
    expect(fixture.bucket.versionDeletes).toContain(kept);
  });

  it('names the snapshots that pinned the deleted rows, in the result, the audit entry and a dry run, and not one made before them', async () => {
    fixture.bucket.objects.clear();
    // C1 is seq % 3 == 1: only 13, in the second ingest.
    await fixture.commitIngest(0, first, [[ordersDataKey('2026-03-01', first), [2, 3]]]);
    await fixture.commitIngest(1, second, [[ordersDataKey('2026-03-02', second), [12, 13]]]);
    const pin = (name: string, maxSeq: bigint, ingestIds: string[], now: Date) =>
      fixture.bucket.objects.set(
        s3SnapshotKey(name),
        Buffer.from(
          JSON.stringify(
            newSnapshot(
              { name, sources: ['orders'], now },
              new Map([['orders', { maxSeq, ingestIds }]]),
            ),
          ),
        ),
      );
    pin('before_c1', 3n, [first], new Date('2026-03-01T00:00:00Z'));
    pin('with_c1', 13n, [first, second], new Date('2026-03-02T00:00:00Z'));
    const dry = await erase({ dryRun: true });
    expect(dry.snapshotsAffected).toEqual(['with_c1']);
    const result = await erase();
    expect(result.offline[0]?.rows).toBe(1);
    expect(result.snapshotsAffected).toEqual(['with_c1']);
    const [audit] = auditObjects();
    expect(
      JSON.parse(fixture.bucket.objects.get(audit ?? '')?.toString('utf8') ?? '{}')
        .snapshotsAffected,
    ).toEqual(['with_c1']);
    // The rows are gone: a rerun names none.
    expect((await erase()).snapshotsAffected).toEqual([]);
  });

  it('a dry run counts with Athena and reads, and changes nothing', async () => {
    const before = new Map(fixture.bucket.objects);
    const result = await erase({ dryRun: true });
    expect(result).toMatchObject({
      dryRun: true,
      offline: [{ source: 'orders', rows: 3, files: 3 }],
      quarantine: [{ rows: 1 }],
      online: [
        { view: 'customer_stats', items: 1 },
        { view: 'order_totals', items: 1 },
      ],
    });
    expect(result.auditObject).toBeUndefined();
    expect(new Map(fixture.bucket.objects)).toEqual(before);
    expect(items.size).toBe(4);
  });

  it('is refused while another run holds a source’s lock, naming its owner, and takes it over with breakLockOwner', async () => {
    const holder = {
      owner: 'abcdefabcdef',
      host: 'other-host',
      pid: 1,
      purpose: 'the compaction of source "orders"',
      started: new Date().toISOString(),
      expires: new Date(Date.now() + 600_000).toISOString(),
      leaseMs: 600_000,
    };
    fixture.bucket.objects.set(
      compactionLockKey('orders'),
      Buffer.from(`${JSON.stringify(holder)}\n`),
    );
    fixture.bucket.modified.set(compactionLockKey('orders'), new Date());
    const before = await fixture.readable();
    await expect(erase()).rejects.toThrow(/is held by owner abcdefabcdef/);
    expect(await fixture.readable()).toEqual(before);
    const taken = await erase({ breakLockOwner: 'abcdefabcdef' });
    expect(taken.offline[0]).toMatchObject({ rows: 3, files: 3 });
    expect(fixture.bucket.objects.has(compactionLockKey('orders'))).toBe(false);
  });

  it('refuses a secret shorter than 32 bytes before changing anything', async () => {
    const before = new Map(fixture.bucket.objects);
    await expect(erase({ auditSecret: Buffer.alloc(8) })).rejects.toThrow(
      /audit secret is 8 bytes/,
    );
    expect(new Map(fixture.bucket.objects)).toEqual(before);
  });
});
