import type { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AwsEraseOptions } from '../../lib/erasure/erase-entities-aws.ts';
import { AthenaQueryRunner } from '../../lib/offline/athena-query-runner.ts';
import { ordersSourceRegistry } from './orders-source-registry.ts';
import type { S3CompactionFixture } from './s3-compaction-fixture.ts';

/** Where the delete runs: the loopback bucket, its S3 client, a work folder and Athena's client. */
export interface ErasePlace {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly workDir: string;
  readonly athena: AthenaClient;
}

/** The compaction fixture's bucket and scratch folder, with Athena answered by `athena`. */
export const fixtureErasePlace = (
  fixture: S3CompactionFixture,
  athena: { client(): AthenaClient },
): ErasePlace => ({
  s3: fixture.s3,
  bucket: fixture.bucket.name,
  workDir: fixture.scratch,
  athena: athena.client(),
});

/** An Athena runner of workgroup `fstore-dev` and database `fstore_dev` that polls without waiting. */
export const devAthenaRunner = (athena: AthenaClient) =>
  new AthenaQueryRunner({
    athena,
    workgroup: 'fstore-dev',
    database: 'fstore_dev',
    sleep: async () => {},
  });

/**
 * The options of eraseEntitiesOnAws deleting customer C1 of `orders` (environment `dev`) from the
 * loopback bucket, with Athena queries sent to `athena` and online deletes to table
 * `fstore-dev-online` of a client the test mocks; `extra` overrides any of them.
 */
export function awsEraseOfC1(
  place: ErasePlace,
  extra: Partial<AwsEraseOptions> = {},
): AwsEraseOptions {
  return {
    registry: ordersSourceRegistry,
    env: 'dev',
    keys: [{ key: 'customer_id', type: 'string', value: 'C1' }],
    s3: place.s3,
    bucket: place.bucket,
    region: 'eu-west-1',
    athena: { runner: devAthenaRunner(place.athena), database: 'fstore_dev' },
    online: { client: new DynamoDBClient({ region: 'eu-west-1' }), table: 'fstore-dev-online' },
    auditSecret: Buffer.alloc(32, 7),
    workDir: place.workDir,
    backoffMs: 0,
    ...extra,
  };
}
