import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { eraseEntitiesOnAws } from '../../lib/erasure/erase-entities-aws.ts';
import type { ErasureKey } from '../../lib/erasure/erasure-keys.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import { S3IngestTarget } from '../../lib/offline/s3-ingest-target.ts';
import { useAthenaOnCompactionFixture } from '../helpers/athena-on-compaction-fixture.ts';
import { awsEraseOfC1, devAthenaRunner, fixtureErasePlace } from '../helpers/aws-erase-options.ts';
import { answerAsEmptyOnlineTable } from '../helpers/empty-online-table-mock.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

// Issue 19: an `fstore ingest --env` uploading rows of the key after the delete's Athena query
// (which cannot see them) and committing before the delete's commit left those rows in place
// with the older ones gone. Its commit now waits for the delete's lock: the rows come after it.
const fixture = useS3CompactionFixture('erase-entities-aws-ingest-race');
const athena = useAthenaOnCompactionFixture(fixture);
const dynamodb = mockClient(DynamoDBClient);
const c1: ErasureKey[] = [{ key: 'customer_id', type: 'string', value: 'C1' }];
const backfillId = '20260304t000000-3d4e5f60';
const backfillRecord = ingestRecordKey('orders', '9'.repeat(64), backfillId);

beforeEach(async () => {
  fixture.bucket.objects.clear();
  fixture.bucket.requests.length = 0;
  await fixture.commitThreeIngests();
  answerAsEmptyOnlineTable(dynamodb);
});

/** The delete, with `afterQuery` run once its Athena query has answered. */
function erase(afterQuery: () => Promise<void> = async () => {}) {
  const runner = devAthenaRunner(athena.client());
  const run = runner.run.bind(runner);
  let queried = false;
  runner.run = async (...args) => {
    const answer = await run(...args);
    if (!queried) {
      queried = true;
      await afterQuery();
    }
    return answer;
  };
  return eraseEntitiesOnAws(
    awsEraseOfC1(fixtureErasePlace(fixture, athena), {
      keys: c1,
      athena: { runner, database: 'fstore_dev' },
    }),
  );
}

/** Uploads an ingest of rows with seqs 31 (customer C1) and 32 (C2) and starts its commit. */
async function startBackfill(waitMs: number): Promise<{ readonly done: Promise<unknown> }> {
  const staging = path.join(fixture.scratch, `staging-${Math.random().toString(16).slice(2)}`);
  await mkdir(path.join(staging, 'dt=2026-03-01'), { recursive: true });
  await writeFile(
    path.join(staging, 'dt=2026-03-01', `${backfillId}-0.parquet`),
    await fixture.committedParquet([31, 32]),
  );
  const target = new S3IngestTarget(fixture.s3, fixture.bucket.name, Date.now, {
    waitMs,
    pollMs: 10,
  });
  const published = await target.publish('orders', staging);
  const done = target
    .commit(
      {
        ingestId: backfillId,
        source: 'orders',
        file: 'late.csv',
        sha256: '9'.repeat(64),
        rows: 2,
        firstSeq: 31,
        at: new Date().toISOString(),
      },
      published,
    )
    .then(
      () => 'committed',
      (error: unknown) => error,
    );
  return { done };
}

const seqsRead = async () =>
  (await fixture.readable()).map((r) => Number(r.fstore_seq)).sort((a, b) => a - b);

describe('fstore ingest --env committing during fstore delete --env', () => {
  it('commits after the delete (its rows then stand as rows ingested after it), never between the query and the commit', async () => {
    let committing: Promise<unknown> = Promise.resolve();
    const result = await erase(async () => {
      committing = (await startBackfill(120_000)).done;
      // Lands now if nothing holds it back; the delete goes on either way.
      await Promise.race([committing, new Promise((r) => setTimeout(r, 500))]);
    });
    expect(await committing).toBe('committed');
    // Every row of C1 committed before the delete is gone (C1 = seq % 3 == 1: 1, 22 ...).
    expect(result.offline[0]?.rows).toBe(3);
    const order = fixture.bucket.requests;
    const deleteCommit = order.findIndex((r) =>
      r.startsWith('PUT offline/_ingests/orders/compactions/2'),
    );
    const ingestCommit = order.indexOf(`PUT ${backfillRecord}`);
    expect(deleteCommit).toBeGreaterThan(-1);
    expect(ingestCommit).toBeGreaterThan(deleteCommit);
    expect(await seqsRead()).toEqual([2, 3, 11, 12, 21, 23, 31, 32]);
    // A second delete removes the rows ingested after the first.
    await erase();
    expect(await seqsRead()).toEqual([2, 3, 11, 12, 21, 23, 32]);
  });

  it('is refused naming the delete and --break-lock when it may not wait, committing nothing', async () => {
    let refused: unknown;
    await erase(async () => {
      refused = await (await startBackfill(0)).done;
    });
    expect((refused as Error).message).toContain(
      `the commit of ingest ${backfillId} into source "orders" cannot run now: the entity delete of source "orders" is already running`,
    );
    expect((refused as { hint: string }).hint).toContain('--break-lock');
    expect(fixture.bucket.objects.has(backfillRecord)).toBe(false);
    expect(await seqsRead()).toEqual([2, 3, 11, 12, 21, 23]);
  });
});
