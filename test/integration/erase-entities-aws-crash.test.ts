import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eraseEntitiesOnAws } from '../../lib/erasure/erase-entities-aws.ts';
import { AthenaQueryRunner } from '../../lib/offline/athena-query-runner.ts';
import { queryRows } from '../../lib/offline/duckdb-session.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { quoteLiteral } from '../../lib/sql/dialect.ts';
import { athenaOnMemoryBucket } from '../helpers/athena-on-memory-bucket.ts';
import { repoRoot } from '../helpers/run-fstore.ts';
import {
  ordersDataKey,
  threeIngestIds,
  useS3CompactionFixture,
} from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('erase-entities-aws-crash');
const athena = athenaOnMemoryBucket({
  connection: () => fixture.duckdb.connection,
  bucket: () => fixture.bucket,
  source: 'orders',
  scratch: () => fixture.scratch,
});
const dynamodb = mockClient(DynamoDBClient);
const leaseMs = 1500;
const registry = {
  sources: [
    {
      name: 'orders',
      schema: [
        { name: 'customer_id', type: 'string' },
        { name: 'amount', type: 'float64' },
      ],
      offline: { glueTable: 'orders', s3Prefix: 'offline/orders/' },
    },
  ],
} as unknown as Registry;
const [first, second, third] = threeIngestIds;
const holdingC1 = [
  ordersDataKey('2026-03-01', first),
  ordersDataKey('2026-03-02', second),
  ordersDataKey('2026-03-01', third),
];

beforeAll(() => athena.install());
afterAll(() => athena.restore());
beforeEach(async () => {
  fixture.bucket.objects.clear();
  await fixture.commitThreeIngests();
  dynamodb.reset();
  dynamodb.on(ScanCommand).resolves({ Items: [] });
  dynamodb.on(DeleteItemCommand).resolves({});
});

/** The delete in a process of its own, killed by FSTORE_FAULT at `point`. */
function eraseInChild(point: string): Promise<{ signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'test', 'helpers', 'erase-aws-child.ts')],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          ...fixture.bucket.env,
          FSTORE_FAULT: point,
          FSTORE_TEST_BUCKET: fixture.bucket.name,
          FSTORE_TEST_SCRATCH: fixture.scratch,
          FSTORE_TEST_LEASE_MS: String(leaseMs),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ signal, out }));
  });
}

function eraseHere() {
  return eraseEntitiesOnAws({
    registry,
    env: 'dev',
    keys: [{ key: 'customer_id', type: 'string', value: 'C1' }],
    s3: fixture.s3,
    bucket: fixture.bucket.name,
    region: 'eu-west-1',
    athena: {
      runner: new AthenaQueryRunner({
        athena: athena.client(),
        workgroup: 'fstore-dev',
        database: 'fstore_dev',
        sleep: async () => {},
      }),
      database: 'fstore_dev',
    },
    online: { client: new DynamoDBClient({ region: 'eu-west-1' }), table: 'fstore-dev-online' },
    auditSecret: Buffer.alloc(32, 7),
    workDir: fixture.scratch,
    leaseMs,
    backoffMs: 0,
  });
}

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
