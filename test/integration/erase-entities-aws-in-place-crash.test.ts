import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { queryRows } from '../../lib/offline/duckdb-session.ts';
import { quoteLiteral } from '../../lib/sql/dialect.ts';
import { useAthenaOnCompactionFixture } from '../helpers/athena-on-compaction-fixture.ts';
import { answerAsEmptyOnlineTable } from '../helpers/empty-online-table-mock.ts';
import { killableEraseOfC1 } from '../helpers/killable-erase.ts';
import { ordersDataKey, useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

// A versioned bucket: writing a key again keeps its earlier bytes as a noncurrent version.
const fixture = useS3CompactionFixture('erase-entities-aws-in-place-crash', { versioned: true });
const athena = useAthenaOnCompactionFixture(fixture);
const dynamodb = mockClient(DynamoDBClient);
const leaseMs = 1500;
const { inChild: eraseInChild, here: eraseHere } = killableEraseOfC1(fixture, athena, leaseMs);
/** An object `fstore ingest --env` uploaded and has not committed (no record names it). */
const inflight = ordersDataKey('2026-03-01', '20260104t000000-3d4e5f6a');

beforeEach(async () => {
  fixture.bucket.objects.clear();
  fixture.bucket.noncurrent.clear();
  await fixture.commitThreeIngests();
  // Seqs 40, 41, 42: customers C1, C2, C0.
  fixture.bucket.objects.set(inflight, await fixture.committedParquet([40, 41, 42]));
  answerAsEmptyOnlineTable(dynamodb);
});

/** Every version, current or not, of a data object of `orders` that holds a row of C1. */
async function versionsHoldingC1(prefixes = ['offline/orders/dt=']): Promise<string[]> {
  const versions: [string, Buffer][] = [
    ...[...fixture.bucket.objects].map(([key, bytes]): [string, Buffer] => [
      `${key} current`,
      bytes,
    ]),
    ...[...fixture.bucket.noncurrent].flatMap(([key, older]) =>
      older.map((v): [string, Buffer] => [`${key} ${v.id}`, v.bytes]),
    ),
  ];
  const holding: string[] = [];
  for (const [name, bytes] of versions) {
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    const file = path.join(fixture.scratch, `check-${holding.length}-${Date.now()}.parquet`);
    await writeFile(file, bytes);
    const [row] = await queryRows(
      fixture.duckdb.connection,
      `SELECT count(*)::INTEGER AS n FROM read_parquet(${quoteLiteral(file)}) WHERE customer_id = 'C1'`,
    );
    if (Number(row?.n) > 0) holding.push(name);
  }
  return holding.sort();
}

describe('fstore delete on AWS killed between writing an uncommitted object again at its key and deleting its older versions', () => {
  it('refuses a damaged journal, naming it, before changing anything of the source', async () => {
    const journal = '_fstore/erasure/in-place/orders.json';
    fixture.bucket.objects.set(journal, Buffer.from('{"kind":"entity-delete-in-pl'));
    const before = new Map(fixture.bucket.objects);
    await expect(eraseHere()).rejects.toThrow(
      `s3://${fixture.bucket.name}/${journal}, the journal of an entity delete of source "orders" that was cut short, is not readable`,
    );
    expect(new Map(fixture.bucket.objects)).toEqual(before);
  }, 60_000);

  it('killed after writing a staged push object again without the key, a rerun deletes its older version that still holds it', async () => {
    const staged =
      'offline/_push/orders/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-12-00-00-a.parquet';
    fixture.bucket.objects.delete(inflight);
    // The erasure reads only the key column of a staged object: seqs 40, 41 are customers C1, C2.
    fixture.bucket.objects.set(staged, await fixture.committedParquet([40, 41]));
    const killed = await eraseInChild('delete:staged-after-rewrite');
    expect(killed.signal, killed.out).toBe('SIGKILL');
    const holding = async () =>
      (await versionsHoldingC1(['offline/_push/'])).map((v) => v.replace(/ n\d+$/, ' older'));
    expect(await holding()).toEqual([`${staged} older`]);

    await new Promise((resolve) => setTimeout(resolve, leaseMs + 2000));
    const rerun = await eraseHere();
    expect(rerun.staged).toEqual([
      { source: 'orders', rows: 0, errorRecords: 0, objects: 1, versionsDeleted: 1 },
    ]);
    expect(await holding()).toEqual([]);
    expect(fixture.bucket.objects.has(staged)).toBe(true);
  }, 120_000);

  it('a rerun deletes the older versions still holding the key, although the current version no longer holds it', async () => {
    const killed = await eraseInChild('delete:s3-after-in-place-upload');
    expect(killed.signal, killed.out).toBe('SIGKILL');
    // Written again without C1; the version read before still holds it.
    expect(await versionsHoldingC1()).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${inflight} n\\d+$`))]),
    );
    expect(await versionsHoldingC1()).not.toContain(`${inflight} current`);

    // The killed run holds the lock until its lease runs out (on S3's clock, whole seconds).
    await new Promise((resolve) => setTimeout(resolve, leaseMs + 2000));
    const rerun = await eraseHere();
    expect(rerun.auditObject).toBeDefined();
    expect(await versionsHoldingC1()).toEqual([]);
    // The uncommitted object stays (its ingest may still commit it), without C1.
    expect(fixture.bucket.objects.has(inflight)).toBe(true);
    // Nothing of the run's bookkeeping is left behind.
    expect(
      [...fixture.bucket.objects.keys()].filter((k) => k.startsWith('_fstore/erasure/')),
    ).toEqual([]);
  }, 120_000);
});
