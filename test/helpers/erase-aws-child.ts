// A process of its own running eraseEntitiesOnAws against the loopback bucket of the parent
// test (its env: AWS_ENDPOINT_URL_S3, FSTORE_TEST_BUCKET, FSTORE_TEST_SCRATCH, FSTORE_TEST_LEASE_MS),
// so FSTORE_FAULT can kill it with SIGKILL at a step. Athena is answered by DuckDB over the
// bucket's objects as listed at each query; DynamoDB by a mock holding no item. Deletes one
// object version per DeleteObjects, so a kill can fall between two. Prints the result as JSON.
import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { eraseEntitiesOnAws } from '../../lib/erasure/erase-entities-aws.ts';
import { AthenaQueryRunner } from '../../lib/offline/athena-query-runner.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { athenaOnMemoryBucket } from './athena-on-memory-bucket.ts';
import { memoryBucketClient } from './s3-memory-bucket.ts';

export const ordersRegistry = {
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

async function main(): Promise<void> {
  const name = process.env.FSTORE_TEST_BUCKET ?? '';
  const scratch = process.env.FSTORE_TEST_SCRATCH ?? '';
  const s3 = memoryBucketClient({ endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? '' });
  const duckdb = await openDuckdb();
  const listed = async () => {
    const objects = new Map<string, Buffer>();
    const page = await s3.send(new ListObjectsV2Command({ Bucket: name }));
    for (const { Key } of page.Contents ?? []) {
      if (!Key) continue;
      const body = await s3.send(new GetObjectCommand({ Bucket: name, Key }));
      objects.set(Key, Buffer.from((await body.Body?.transformToByteArray()) ?? []));
    }
    return { objects, name };
  };
  const athena = athenaOnMemoryBucket({
    connection: () => duckdb.connection,
    bucket: listed,
    source: 'orders',
    scratch: () => scratch,
  });
  athena.install();
  const dynamodb = mockClient(DynamoDBClient);
  dynamodb.on(ScanCommand).resolves({ Items: [] });
  dynamodb.on(DeleteItemCommand).resolves({});
  const result = await eraseEntitiesOnAws({
    registry: ordersRegistry,
    env: 'dev',
    keys: [{ key: 'customer_id', type: 'string', value: 'C1' }],
    s3,
    bucket: name,
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
    workDir: scratch,
    leaseMs: Number(process.env.FSTORE_TEST_LEASE_MS ?? 60_000),
    backoffMs: 0,
    deleteBatchSize: 1,
  });
  duckdb.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
