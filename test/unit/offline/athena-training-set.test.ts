import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AthenaQueryRunner } from '../../../lib/offline/athena-query-runner.ts';
import { getTrainingSetOnAthena } from '../../../lib/offline/athena-training-set.ts';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { makeTempDir, repoRoot } from '../../helpers/run-fstore.ts';

const registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
const s3 = mockClient(S3Client);
const athena = mockClient(AthenaClient);

describe('training set on Athena (aws-sdk-client-mock)', () => {
  beforeEach(() => {
    s3.reset();
    athena.reset();
  });

  it('uploads the entity rows as a request, UNLOADs the service SQL for that request and downloads every part', async () => {
    const dir = await makeTempDir('athena-ts');
    const entities = path.join(dir, 'entities.csv');
    await writeFile(
      entities,
      'customer_id,event_timestamp,churned\nC000002,2026-05-20T08:30:00+01:00,0\nC000001,2026-05-15T12:00:00Z,1\n',
    );
    s3.on(PutObjectCommand).resolves({});
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: 'training-sets/churn_v1/run-1/part-0' }],
        IsTruncated: true,
        NextContinuationToken: 't',
      })
      .resolvesOnce({
        Contents: [{ Key: 'training-sets/churn_v1/run-1/part-1' }],
        IsTruncated: false,
      });
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => ({
      Body: { transformToByteArray: async () => new TextEncoder().encode(input.Key) },
    }));
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q9' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        Status: { State: 'SUCCEEDED' },
        Statistics: { DataScannedInBytes: 4096 },
      },
    });

    const runner = new AthenaQueryRunner({
      athena: new AthenaClient({}),
      workgroup: 'fstore-dev',
      database: 'fstore_dev',
      sleep: async () => {},
    });
    const result = await getTrainingSetOnAthena({
      registry,
      service: 'churn_v1',
      entities,
      bucket: 'offline-bucket',
      database: 'fstore_dev',
      runner,
      s3: new S3Client({}),
      downloadDir: path.join(dir, 'out'),
      requestId: 'run-1',
    });

    const upload = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(upload?.Key).toBe('requests/churn_v1/request_id=run-1/entities.parquet');
    const uploaded = path.join(dir, 'uploaded.parquet');
    await writeFile(uploaded, upload?.Body as Uint8Array);
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    const rows = (
      await connection.runAndReadAll(
        `SELECT row_key, customer_id, strftime(event_timestamp, '%Y-%m-%dT%H:%M:%S') AS t FROM read_parquet('${uploaded}')`,
      )
    ).getRowObjects();
    connection.closeSync();
    db.closeSync();
    expect(rows).toEqual([
      { row_key: '1', customer_id: 'C000002', t: '2026-05-20T07:30:00' },
      { row_key: '2', customer_id: 'C000001', t: '2026-05-15T12:00:00' },
    ]);

    const sql = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString ?? '';
    expect(sql.startsWith('UNLOAD (WITH "fstore_request" AS (')).toBe(true);
    expect(sql).toContain(`WHERE "request_id" = 'run-1'`);
    // The range of the entity times (in UTC), so Athena reads only the dt partitions they reach.
    expect(sql).toContain(
      `"event_timestamp" BETWEEN CAST(TIMESTAMP '2026-05-15 12:00:00.000000' AS TIMESTAMP(6)) AND CAST(TIMESTAMP '2026-05-20 07:30:00.000000' AS TIMESTAMP(6))`,
    );
    expect(sql).toContain(
      `fstore_s."dt" <= CAST(CAST(CAST(TIMESTAMP '2026-05-20 07:30:00.000000' AS TIMESTAMP(6)) AS DATE) AS VARCHAR)`,
    );
    expect(sql).not.toContain('?');
    expect(sql).toContain(
      `TO 's3://offline-bucket/training-sets/churn_v1/run-1/' WITH (format = 'PARQUET', compression = 'SNAPPY')`,
    );
    expect(result).toMatchObject({
      requestId: 'run-1',
      queryExecutionId: 'q9',
      dataScannedBytes: 4096,
      location: 's3://offline-bucket/training-sets/churn_v1/run-1/',
    });
    expect(result.files.map((f) => path.basename(f))).toEqual(['0000-part-0', '0001-part-1']);
    // The staged copy of the entity rows is removed once uploaded; the request key filter is in.
    expect(await readdir(path.join(dir, 'out'))).not.toContain('fstore-request-run-1.parquet');
    expect(sql).toContain(`fstore_s."customer_id" IN (SELECT "customer_id" FROM "fstore_request")`);
  });

  it('refuses a request id that could break out of the SQL literal', async () => {
    const runner = new AthenaQueryRunner({
      athena: new AthenaClient({}),
      workgroup: 'w',
      database: 'd',
    });
    await expect(
      getTrainingSetOnAthena({
        registry,
        service: 'churn_v1',
        entities: 'x.csv',
        bucket: 'b',
        database: 'd',
        runner,
        s3: new S3Client({}),
        requestId: "x' OR '1'='1",
      }),
    ).rejects.toThrow('must be lower-case letters, digits');
  });
});
