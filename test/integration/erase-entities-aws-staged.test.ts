import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type AwsEraseOptions, eraseEntitiesOnAws } from '../../lib/erasure/erase-entities-aws.ts';
import { queryRows } from '../../lib/offline/duckdb-session.ts';
import { quoteLiteral } from '../../lib/sql/dialect.ts';
import { useAthenaOnCompactionFixture } from '../helpers/athena-on-compaction-fixture.ts';
import { awsEraseOfC1, fixtureErasePlace } from '../helpers/aws-erase-options.ts';
import { answerAsEmptyOnlineTable } from '../helpers/empty-online-table-mock.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

// Versioned: the push ingest's plain deletes and the delete's rewrites keep older versions.
const fixture = useS3CompactionFixture('erase-entities-aws-staged', { versioned: true });
const athena = useAthenaOnCompactionFixture(fixture);
const dynamodb = mockClient(DynamoDBClient);

const staged =
  'offline/_push/orders/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-12-00-00-a.parquet';
/** Folded by an earlier push ingest: deleted with a plain delete, so only a noncurrent version is left. */
const folded =
  'offline/_push/orders/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-11-00-00-f.parquet';
const refused =
  'offline/_push/orders/_refused/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-10-00-00-r.parquet';
const conversionErrors =
  'offline/_push-errors/orders/format-conversion-failed/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-12-00-00-e';

/** Parquet as Firehose stages `orders` rows: the schema's columns, then the push identity. */
async function stagedParquet(customers: readonly string[]): Promise<Buffer> {
  const file = path.join(fixture.scratch, `staged-${Math.random().toString(16).slice(2)}.parquet`);
  const values = customers.map(
    (c, i) => `('${c}', ${i}.5::DOUBLE, 'push-${c}', ${i}::INTEGER, NULL::VARCHAR)`,
  );
  await fixture.duckdb.connection.run(
    `COPY (SELECT * FROM (VALUES ${values.join(', ')}) v(customer_id, amount, fstore_push_id, fstore_push_row, fstore_idempotency_key)) TO '${file}' (FORMAT parquet)`,
  );
  return readFile(file);
}

/** A Firehose error line: the record the push sent, base64 in rawData. */
const errorLine = (customer: string) =>
  JSON.stringify({
    attemptsMade: 1,
    errorCode: 'DataFormatConversion.InvalidSchema',
    rawData: Buffer.from(
      JSON.stringify({
        customer_id: customer,
        amount: 'x',
        fstore_push_id: 'p',
        fstore_push_row: 0,
      }),
    ).toString('base64'),
  });

async function customersIn(bytes: Buffer): Promise<string[]> {
  const file = path.join(fixture.scratch, `read-${Math.random().toString(16).slice(2)}.parquet`);
  await writeFile(file, bytes);
  return (
    await queryRows(
      fixture.duckdb.connection,
      `SELECT customer_id FROM read_parquet(${quoteLiteral(file)})`,
    )
  ).map((r) => String(r.customer_id));
}

/** Every version (current or not) under the push prefixes whose bytes hold C1. */
async function versionsHoldingC1(): Promise<string[]> {
  const all: [string, Buffer][] = [
    ...[...fixture.bucket.objects].map(([k, b]): [string, Buffer] => [`${k} current`, b]),
    ...[...fixture.bucket.noncurrent].flatMap(([k, vs]) =>
      vs.map((v): [string, Buffer] => [`${k} ${v.id}`, v.bytes]),
    ),
  ];
  const holding: string[] = [];
  for (const [name, bytes] of all) {
    if (!name.startsWith('offline/_push')) continue;
    const held = name.split(' ')[0]?.endsWith('.parquet')
      ? (await customersIn(bytes)).includes('C1')
      : bytes.toString('utf8').includes(Buffer.from('"C1"').toString()) ||
        bytes
          .toString('utf8')
          .split('\n')
          .some(
            (l) =>
              l.includes('C1') ||
              (l.includes('rawData') &&
                Buffer.from(JSON.parse(l).rawData, 'base64').toString().includes('"C1"')),
          );
    if (held) holding.push(name);
  }
  return holding.sort();
}

beforeEach(async () => {
  fixture.bucket.objects.clear();
  fixture.bucket.noncurrent.clear();
  await fixture.commitThreeIngests();
  fixture.bucket.objects.set(staged, await stagedParquet(['C1', 'C2', 'C1']));
  fixture.bucket.objects.set(folded, await stagedParquet(['C1', 'C0']));
  fixture.bucket.noncurrent.set(folded, [
    { id: 'n-folded', bytes: fixture.bucket.objects.get(folded) as Buffer },
  ]);
  fixture.bucket.objects.delete(folded);
  fixture.bucket.objects.set(refused, await stagedParquet(['C1']));
  fixture.bucket.objects.set(
    `${refused}.reason.json`,
    Buffer.from('{"reason":"amount below min"}\n'),
  );
  fixture.bucket.objects.set(
    conversionErrors,
    Buffer.from(`${errorLine('C1')}\n${errorLine('C2')}\nnot json, pushed for C1\n`),
  );
  answerAsEmptyOnlineTable(dynamodb);
});

const erase = (extra: Partial<AwsEraseOptions> = {}) =>
  eraseEntitiesOnAws(awsEraseOfC1(fixtureErasePlace(fixture, athena), extra));

describe('fstore delete on AWS and pushed rows not yet in the offline store (versioned loopback bucket)', () => {
  it('removes the keys from staged objects, set-aside copies and Firehose error records, every version, keeping the objects and the other rows', async () => {
    const result = await erase();
    expect(result.staged).toEqual([
      { source: 'orders', rows: 3, errorRecords: 2, objects: 4, versionsDeleted: 4 },
    ]);
    expect(await versionsHoldingC1()).toEqual([]);
    // Written again at their keys (the push ingest folds them later), other rows in order.
    expect(await customersIn(fixture.bucket.objects.get(staged) as Buffer)).toEqual(['C2']);
    expect(await customersIn(fixture.bucket.objects.get(refused) as Buffer)).toEqual([]);
    expect(fixture.bucket.objects.get(conversionErrors)?.toString()).toBe(`${errorLine('C2')}\n`);
    expect(fixture.bucket.objects.has(`${refused}.reason.json`)).toBe(true);
    // The audit counts them, never the value.
    const audit = fixture.bucket.objects.get(
      (result.auditObject ?? '').replace(`s3://${fixture.bucket.name}/`, ''),
    );
    expect(JSON.parse(audit?.toString() ?? '{}').staged).toEqual(result.staged);

    const again = await erase();
    expect(again.staged).toEqual([
      { source: 'orders', rows: 0, errorRecords: 0, objects: 0, versionsDeleted: 0 },
    ]);
  });

  it('a dry run counts the staged rows and changes nothing', async () => {
    const before = new Map(fixture.bucket.objects);
    const result = await erase({ dryRun: true });
    expect(result.staged).toEqual([{ source: 'orders', rows: 3, errorRecords: 2, objects: 4 }]);
    expect(new Map(fixture.bucket.objects)).toEqual(before);
    expect(await versionsHoldingC1()).toHaveLength(4);
  });
});
