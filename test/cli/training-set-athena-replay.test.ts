import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { s3SnapshotsPrefix } from '../../lib/offline/s3-snapshots.ts';
import { type AwsJsonStub, startAwsJsonStub } from '../helpers/aws-json-stub-server.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';
import { scoresDefs, scoresObjectOf, scoresRecord } from '../helpers/scores-on-s3.ts';

const idA = '20260301t000000-aaaaaaaa';
const idB = '20260302t000000-bbbbbbbb';
const objectOf = scoresObjectOf;

let bucket: MemoryBucket;
let athena: AwsJsonStub;
let dir: string;
let fstore: (...args: string[]) => ReturnType<typeof runFstore>;
/** What the stub's UNLOAD writes: the score of customer A (Athena's answer, made up here). */
let score = 7;
const queries: string[] = [];

/** A result part as Athena's UNLOAD writes it, for the entity row of customer A. */
async function part(): Promise<Buffer> {
  const file = path.join(dir, `part-${score}.parquet`);
  const session = await openDuckdb();
  try {
    await session.connection.run(
      `COPY (SELECT '1' AS row_key, 'A' AS customer_id, TIMESTAMP '2026-03-10 00:00:00' AS event_timestamp, ${score}::BIGINT AS score) TO '${file}' (FORMAT parquet)`,
    );
  } finally {
    session.close();
  }
  return readFile(file);
}

beforeAll(async () => {
  dir = await makeTempDir('athena-replay');
  bucket = await startMemoryBucket('offline-bucket', { pageSize: 2 });
  bucket.objects.set(...scoresRecord(idA, 1, 4));
  let executions = 0;
  const parts = new Map<string, Buffer>();
  athena = await startAwsJsonStub((call) => {
    if (call.operation === 'StartQueryExecution') {
      const sql = String(call.input.QueryString);
      queries.push(sql);
      const location = /TO 's3:\/\/offline-bucket\/([^']+)'/.exec(sql)?.[1];
      const id = `q${++executions}`;
      if (location) bucket.objects.set(`${location}part-0.parquet`, parts.get('current') as Buffer);
      return { QueryExecutionId: id };
    }
    if (call.operation === 'GetQueryExecution')
      return {
        QueryExecution: {
          QueryExecutionId: call.input.QueryExecutionId,
          Status: { State: 'SUCCEEDED' },
          Statistics: { DataScannedInBytes: 1024, EngineExecutionTimeInMillis: 5 },
        },
      };
    return undefined;
  });
  const defsDir = await writeDefs({ 'defs.ts': scoresDefs });
  const env = {
    ...bucket.env,
    AWS_ENDPOINT_URL_ATHENA: athena.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
  fstore = async (...args: string[]) => {
    parts.set('current', await part());
    return runFstore(['--defs', defsDir, '--data-dir', dir, '--env', 'dev', ...args], { env });
  };
  await writeFile(
    path.join(dir, 'entities.csv'),
    'customer_id,event_timestamp\nA,2026-03-10T00:00:00Z\n',
  );
}, 60_000);
afterAll(async () => {
  await bucket.close();
  await athena.close();
});

describe('fstore training-set --env <aws>: manifest, --snapshot and --replay through Athena', () => {
  it('writes a manifest naming the pins and S3 objects read, and a replay after a new ingest matches or reports the difference', async () => {
    const entities = path.join(dir, 'entities.csv');
    const out = path.join(dir, 'scoring.parquet');
    const args = ['--service', 'scoring', '--entities', entities, '--bucket', 'offline-bucket'];
    const built = await fstore('training-set', ...args, '--out', out, '--json');
    expect(built.code, built.stderr).toBe(0);
    expect(queries.at(-1)).toContain('WHERE "fstore_seq" <= 4)');
    const manifest = JSON.parse(await readFile(path.join(dir, 'scoring.manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      env: 'dev',
      request: { service: 'scoring' },
      sources: { scores: { maxSeq: 4, ingestIds: [idA], objects: [objectOf(idA)] } },
      athena: { bucket: 'offline-bucket', queryExecutionId: 'q1', dataScannedBytes: 1024 },
      strategy: { engine: 'athena', pointInTime: 'merge-window' },
      output: { file: 'scoring.parquet', rows: 1 },
    });

    // A later ingest: the replay still reads as of seq 4, and Athena answers the same rows.
    bucket.objects.set(...scoresRecord(idB, 5, 2));
    const replay = await fstore(
      'training-set',
      '--replay',
      path.join(dir, 'scoring.manifest.json'),
      '--json',
    );
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ matches: true, rows: 1 });
    expect(queries.at(-1)).toContain('WHERE "fstore_seq" <= 4)');

    // Rows of the pinned ingests changed (as by a delete): the replay differs, exit 1.
    score = 8;
    const differs = await fstore(
      'training-set',
      '--replay',
      path.join(dir, 'scoring.manifest.json'),
    );
    expect(differs.code).toBe(1);
    expect(differs.stderr).toContain('1 row differs');
    score = 7;
  }, 180_000);

  it('reads as of a snapshot of the bucket, and refuses one that does not exist', async () => {
    const entities = path.join(dir, 'entities.csv');
    const made = await fstore(
      'snapshot',
      'create',
      '--name',
      'v1',
      '--bucket',
      'offline-bucket',
      '--json',
    );
    expect(made.code, made.stderr).toBe(0);
    expect(bucket.objects.has(`${s3SnapshotsPrefix}v1.json`)).toBe(true);
    const args = ['--service', 'scoring', '--entities', entities, '--bucket', 'offline-bucket'];
    const read = await fstore(
      'training-set',
      ...args,
      '--snapshot',
      'v1',
      '--out',
      path.join(dir, 'v1.csv'),
      '--json',
    );
    expect(read.code, read.stderr).toBe(0);
    expect(queries.at(-1)).toContain('WHERE "fstore_seq" <= 6)');
    const manifest = JSON.parse(await readFile(path.join(dir, 'v1.manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      snapshot: 'v1',
      sources: { scores: { maxSeq: 6, objects: [objectOf(idA), objectOf(idB)] } },
    });
    const missing = await fstore(
      'training-set',
      ...args,
      '--snapshot',
      'nope',
      '--out',
      path.join(dir, 'x.csv'),
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no snapshot "nope"');
  }, 180_000);
});
