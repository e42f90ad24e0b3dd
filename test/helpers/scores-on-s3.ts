/**
 * One source (`scores`), one view and one service (`scoring`) as a defs file for the CLI, and the
 * S3 commit records of its ingests as `fstore ingest --env <aws>` writes them, for CLI tests of
 * an AWS environment on a loopback bucket.
 */
export const scoresDefs = `import { defineEntity, defineFeatureService, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const scores = defineSource({ name: 'scores', schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const latestScore = defineFeatureView({ name: 'latest_score', entities: [customer], source: scores, features: { score: 'int64' }, ttl: '30d' });
export const scoring = defineFeatureService({ name: 'scoring', features: [latestScore] });
`;

const sha = 'c'.repeat(64);

/** The data object an ingest of `scores` wrote. */
export const scoresObjectOf = (id: string) => `offline/scores/dt=2026-03-01/${id}-0.parquet`;

/** The commit record of an ingest of `scores`, at its key. */
export function scoresRecord(id: string, firstSeq: number, rows: number): [string, Buffer] {
  const record = {
    ingestId: id,
    source: 'scores',
    file: 's.csv',
    sha256: sha,
    rows,
    firstSeq,
    at: '2026-03-01T00:00:00Z',
    files: [scoresObjectOf(id)],
  };
  return [`offline/_ingests/scores/${sha}/${id}.json`, Buffer.from(`${JSON.stringify(record)}\n`)];
}
