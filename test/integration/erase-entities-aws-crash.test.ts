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
import {
  ordersDataKey,
  threeIngestIds,
  useS3CompactionFixture,
} from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('erase-entities-aws-crash');
const athena = useAthenaOnCompactionFixture(fixture);
const dynamodb = mockClient(DynamoDBClient);
const leaseMs = 1500;
const { inChild: eraseInChild, here: eraseHere } = killableEraseOfC1(fixture, athena, leaseMs);
const [first, second, third] = threeIngestIds;
const holdingC1 = [
  ordersDataKey('2026-03-01', first),
  ordersDataKey('2026-03-02', second),
  ordersDataKey('2026-03-01', third),
];

beforeEach(async () => {
  fixture.bucket.objects.clear();
  await fixture.commitThreeIngests();
  answerAsEmptyOnlineTable(dynamodb);
});

/** Data objects of `orders` holding a row of C1, read or not (every object in the bucket). */
async function objectsHoldingC1(): Promise<string[]> {
  const holding: string[] = [];
  for (const [key, bytes] of fixture.bucket.objects) {
    if (!key.startsWith('offline/orders/dt=')) continue;
    const file = path.join(fixture.scratch, `check-${path.posix.basename(key)}`);
    await writeFile(file, bytes);
    const [row] = await queryRows(
      fixture.duckdb.connection,
      `SELECT count(*)::INTEGER AS n FROM read_parquet(${quoteLiteral(file)}) WHERE customer_id = 'C1'`,
    );
    if (Number(row?.n) > 0) holding.push(key);
  }
  return holding.sort();
}

const seqsRead = async () => (await fixture.readable()).map((r) => Number(r.fstore_seq));
const allSeqs = [1, 2, 3, 11, 12, 13, 21, 22, 23];
const withoutC1 = [2, 3, 11, 12, 21, 23];

describe('fstore delete on AWS killed with SIGKILL at each step (FSTORE_FAULT), then run again', () => {
  it.each([
    // Uploads unread (no record names them): readers see every row still.
    ['delete:s3-after-upload', allSeqs, 3],
    // Committed: readers no longer see C1; the replaced objects still hold it.
    ['delete:s3-after-commit', withoutC1, 3],
    // One version deleted (one per DeleteObjects here), two left.
    ['delete:s3-mid-delete', withoutC1, 2],
    // Offline done; the online step and the audit had not run.
    ['delete:aws-before-online', withoutC1, 0],
  ])(
    'killed at %s: readers see a consistent state, and a rerun leaves no object holding the key',
    async (point, readAfterKill, objectsLeft) => {
      const killed = await eraseInChild(point);
      expect(killed.signal, killed.out).toBe('SIGKILL');
      expect(await seqsRead()).toEqual(readAfterKill);
      expect(await objectsHoldingC1()).toHaveLength(objectsLeft as number);
      if (objectsLeft === 3) expect(await objectsHoldingC1()).toEqual([...holdingC1].sort());

      // The killed run holds the lock until its lease runs out (on S3's clock, whole seconds).
      await new Promise((resolve) => setTimeout(resolve, leaseMs + 2000));
      const rerun = await eraseHere();
      expect(rerun.auditObject).toBeDefined();
      expect(await seqsRead()).toEqual(withoutC1);
      expect(await objectsHoldingC1()).toEqual([]);
      const again = await eraseHere();
      expect(again.offline[0]).toMatchObject({ rows: 0, files: 0, replacedFiles: 0 });
      expect(await seqsRead()).toEqual(withoutC1);
    },
    120_000,
  );
});
