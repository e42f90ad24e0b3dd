import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CSV_ROWS_HASH, contentHashOf } from '../../lib/offline/canonical-rows.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `import { defineEntity, defineFeatureService, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const scores = defineSource({ name: 'scores', schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const latestScore = defineFeatureView({ name: 'latest_score', entities: [customer], source: scores, features: { score: 'int64' }, ttl: '30d' });
export const scoring = defineFeatureService({ name: 'scoring', features: [latestScore] });
`;

let dir: string;
let defsDir: string;
let fstore: (...args: string[]) => ReturnType<typeof runFstore>;
let entities: string;

/** Writes `rows` as JSON lines under the data dir and ingests them into `scores`. */
async function ingest(name: string, rows: readonly Record<string, unknown>[]) {
  const file = path.join(dir, `${name}.jsonl`);
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  const done = await fstore('ingest', '--source', 'scores', '--file', file);
  expect(done.code, done.stderr).toBe(0);
}

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

beforeAll(async () => {
  defsDir = await writeDefs({ 'defs.ts': defs });
  dir = await makeTempDir('replay-cli');
  fstore = (...args: string[]) => runFstore(['--defs', defsDir, '--data-dir', dir, ...args]);
  entities = path.join(dir, 'entities.csv');
  await writeFile(
    entities,
    'customer_id,event_timestamp\nA,2026-03-10T00:00:00Z\nB,2026-03-10T00:00:00Z\n',
  );
  await ingest('first', [
    { customer_id: 'A', score: 1, event_ts: '2026-03-01T12:00:00Z' },
    { customer_id: 'B', score: 2, event_ts: '2026-03-01T12:00:00Z' },
  ]);
}, 120_000);

describe('fstore training-set manifests and --replay', () => {
  it('writes X.manifest.json beside the output, and a replay after a later ingest that changes the winner matches', async () => {
    const out = path.join(dir, 'churn.parquet');
    const built = await fstore(
      'training-set',
      '--service',
      'scoring',
      '--entities',
      entities,
      '--out',
      out,
    );
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toContain('manifest → ');
    const manifest = await readJson(path.join(dir, 'churn.manifest.json'));
    expect(manifest).toMatchObject({
      format: 1,
      env: 'local',
      request: { service: 'scoring' },
      entities: { file: entities, timestampColumn: 'event_timestamp' },
      sources: { scores: { maxSeq: 2 } },
      strategy: { engine: 'duckdb', pointInTime: 'asof' },
      output: {
        file: 'churn.parquet',
        format: 'parquet',
        rows: 2,
        contentHash: { algorithm: 'sha256-of-typed-columns-v2' },
      },
    });
    expect(manifest.sources.scores.ingestIds).toHaveLength(1);
    expect(manifest.entities.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.registryVersion).toEqual(expect.any(String));
    // Hashed while the file was written: the same as the file read back.
    expect(manifest.output.contentHash.sha256).toBe(await contentHashOf(out));

    await ingest('later', [{ customer_id: 'A', score: 9, event_ts: '2026-03-08T12:00:00Z' }]);
    const now = path.join(dir, 'now.parquet');
    expect(
      (await fstore('training-set', '--service', 'scoring', '--entities', entities, '--out', now))
        .code,
    ).toBe(0);
    const nowManifest = await readJson(path.join(dir, 'now.manifest.json'));
    expect(nowManifest.output.contentHash.sha256).not.toBe(manifest.output.contentHash.sha256);

    const replay = await fstore(
      'training-set',
      '--replay',
      path.join(dir, 'churn.manifest.json'),
      '--json',
    );
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({
      matches: true,
      rows: 2,
      sha256: manifest.output.contentHash.sha256,
    });
    // Without --out, the replay keeps nothing.
    expect(
      (await import('node:fs')).readdirSync(dir).filter((f) => f.includes('.replay-')),
    ).toEqual([]);

    const copy = path.join(dir, 'again.parquet');
    const kept = await fstore(
      'training-set',
      '--replay',
      path.join(dir, 'churn.manifest.json'),
      '--out',
      copy,
    );
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toContain('matches');
    expect((await readJson(path.join(dir, 'again.manifest.json'))).sources).toEqual(
      manifest.sources,
    );

    // A manifest written before v2 names v1 and its hash: the replay verifies it with v1.
    const v1 = await contentHashOf(out, CSV_ROWS_HASH);
    expect(v1).not.toBe(manifest.output.contentHash.sha256);
    const old = path.join(dir, 'old.manifest.json');
    const contentHash = { algorithm: 'sha256-of-rows-as-csv-v1', sha256: v1 };
    await writeFile(
      old,
      JSON.stringify({ ...manifest, output: { ...manifest.output, contentHash } }),
    );
    const oldReplay = await fstore('training-set', '--replay', old, '--json');
    expect(oldReplay.code, oldReplay.stderr).toBe(0);
    expect(JSON.parse(oldReplay.stdout)).toMatchObject({ matches: true, sha256: v1 });
  }, 120_000);

  it('never leaves the manifest of an earlier build beside a new output (killed before its manifest)', async () => {
    const out = path.join(dir, 'rebuilt.parquet');
    const args = ['training-set', '--service', 'scoring', '--entities', entities, '--out', out];
    expect((await fstore(...args)).code).toBe(0);
    expect(existsSync(path.join(dir, 'rebuilt.manifest.json'))).toBe(true);
    const killed = await runFstore(['--defs', defsDir, '--data-dir', dir, ...args], {
      env: { FSTORE_FAULT: 'training-set:before-manifest' },
    });
    expect(killed.code).toBeNull();
    expect(existsSync(out)).toBe(true);
    expect(existsSync(path.join(dir, 'rebuilt.manifest.json'))).toBe(false);
  }, 120_000);

  it('exits 1 with a diff summary (rows, first differing row and column) when the rebuilt rows differ', async () => {
    const out = path.join(dir, 'pinned.csv');
    expect(
      (await fstore('training-set', '--service', 'scoring', '--entities', entities, '--out', out))
        .code,
    ).toBe(0);
    const file = path.join(dir, 'pinned.manifest.json');
    const manifest = await readJson(file);
    // As if the later ingest's rows were gone: the replay reads only the first ingest.
    await writeFile(
      file,
      JSON.stringify({
        ...manifest,
        sources: { scores: { ...manifest.sources.scores, maxSeq: 2 } },
      }),
    );
    const replay = await fstore('training-set', '--replay', file);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain(
      'differs: 2 rows then, 2 now; 1 row differs; first at row 1 (columns score)',
    );
    expect(replay.stderr).toContain(
      'was A,2026-03-10T00:00:00.000000Z,9, now A,2026-03-10T00:00:00.000000Z,1',
    );
    const json = await fstore('training-set', '--replay', file, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      matches: false,
      diff: { expectedRows: 2, actualRows: 2, differentRows: 1, rowsCompared: true },
    });
    const otherEnv = await fstore('--env', 'local-other', 'training-set', '--replay', file);
    expect(otherEnv.code).toBe(2);
    expect(otherEnv.stderr).toContain('the manifest was written in environment "local"');
    await rm(out);
    const gone = await fstore('training-set', '--replay', file);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(
      'the original output is gone or changed, so rows cannot be compared',
    );
    const goneJson = await fstore('training-set', '--replay', file, '--json');
    expect(JSON.parse(goneJson.stdout)).toMatchObject({
      matches: false,
      diff: { expectedRows: 2, actualRows: 2, rowsCompared: false },
    });
  }, 120_000);

  it('refuses a changed entity file, a damaged manifest, another format for --out and a request beside --replay', async () => {
    const out = path.join(dir, 'refusals.parquet');
    const own = path.join(dir, 'own-entities.csv');
    await writeFile(own, 'customer_id,event_timestamp\nA,2026-03-10T00:00:00Z\n');
    expect(
      (await fstore('training-set', '--service', 'scoring', '--entities', own, '--out', out)).code,
    ).toBe(0);
    const file = path.join(dir, 'refusals.manifest.json');
    await writeFile(own, 'customer_id,event_timestamp\nA,2026-03-11T00:00:00Z\n');
    const changed = await fstore('training-set', '--replay', file);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain(
      `the entity file ${own} changed since the manifest was written`,
    );

    const otherFormat = await fstore(
      'training-set',
      '--replay',
      file,
      '--out',
      path.join(dir, 'x.csv'),
    );
    expect(otherFormat.code).toBe(2);
    expect(otherFormat.stderr).toContain('is not a .parquet file');

    const withService = await fstore('training-set', '--replay', file, '--service', 'scoring');
    expect(withService.code).toBe(2);
    expect(withService.stderr).toContain(
      '--replay takes the request and the data from the manifest',
    );

    const damaged = path.join(dir, 'damaged.manifest.json');
    await writeFile(damaged, '{"format": 1, "env": "local"');
    const notJson = await fstore('training-set', '--replay', damaged);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain(`the manifest ${damaged} is not JSON`);
    await writeFile(
      damaged,
      JSON.stringify({
        ...(await readJson(file)),
        sources: { scores: { maxSeq: -1, ingestIds: [] } },
      }),
    );
    const invalid = await fstore('training-set', '--replay', damaged);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('is not valid: sources.scores.maxSeq');
    expect(existsSync(path.join(dir, 'x.csv'))).toBe(false);
  }, 120_000);
});
