// A process of its own running eraseEntitiesOnAws against the loopback bucket of the parent
// test (its env: AWS_ENDPOINT_URL_S3, FSTORE_TEST_BUCKET, FSTORE_TEST_SCRATCH, FSTORE_TEST_LEASE_MS),
// so FSTORE_FAULT can kill it with SIGKILL at a step. Athena is answered by DuckDB over the
// bucket's objects as listed at each query; DynamoDB by a mock holding no item. Deletes one
// object version per DeleteObjects, so a kill can fall between two. Prints the result as JSON.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { eraseEntitiesOnAws } from '../../lib/erasure/erase-entities-aws.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { athenaOnMemoryBucket } from './athena-on-memory-bucket.ts';
import { awsEraseOfC1 } from './aws-erase-options.ts';
import { answerAsEmptyOnlineTable } from './empty-online-table-mock.ts';
import { memoryBucketClient } from './s3-memory-bucket.ts';

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
  answerAsEmptyOnlineTable(mockClient(DynamoDBClient));
  const result = await eraseEntitiesOnAws(
    awsEraseOfC1(
      { s3, bucket: name, workDir: scratch, athena: athena.client() },
      { leaseMs: Number(process.env.FSTORE_TEST_LEASE_MS ?? 60_000), deleteBatchSize: 1 },
    ),
  );
  duckdb.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
