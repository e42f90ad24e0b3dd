import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { contentHashOf } from '../../lib/offline/canonical-rows.ts';
import { getTrainingSet } from '../../lib/offline/training-set.ts';
import { compileRegistry, loadDefinitions } from '../../lib/registry/index.ts';
import { makeTempDir, repoRoot, runFstore, writeDefs } from '../helpers/run-fstore.ts';

// A one-shot `fstore training-set` leaves its in-memory DuckDB instances to the process exit
// (closing one after temporary tables cost 40-170 ms of a 10-row request): the process must
// still write the same complete file and manifest, leave nothing behind, and exit 0.
const recorder = pathToFileURL(
  path.join(repoRoot, 'test', 'helpers', 'duckdb-close-recorder.mjs'),
).href;

// The definitions say in the DuckDB log when they load (when a test records one).
const defs = `
import { appendFileSync } from 'node:fs';
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
if (process.env.FSTORE_DUCKDB_LOG) appendFileSync(process.env.FSTORE_DUCKDB_LOG, 'definitions\\n');
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', monthly: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const profile = defineFeatureView({
  name: 'profile', entities: [customer], source: profiles, features: { monthly: 'float64' }, ttl: '30d',
});
`;

let work: string;
let defsDir: string;
let dataDir: string;
let entities: string;

beforeAll(async () => {
  work = await makeTempDir('ts-exit');
  defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('ts-exit-defs'));
  dataDir = path.join(work, '.fstore');
  const rows = path.join(work, 'profiles.csv');
  await writeFile(
    rows,
    'customer_id,monthly,event_ts\nC1,50,2026-03-01T00:00:00Z\nC2,70,2026-03-02T00:00:00Z\nC1,55,2026-03-05T00:00:00Z\n',
  );
  const ingest = await runFstore([
    '--defs',
    defsDir,
    '--data-dir',
    dataDir,
    'ingest',
    '--source',
    'profiles',
    '--file',
    rows,
  ]);
  expect(ingest.code, ingest.stderr).toBe(0);
  entities = path.join(work, 'entities.csv');
  await writeFile(
    entities,
    'customer_id,event_timestamp,label\nC1,2026-03-04T00:00:00Z,1\nC2,2026-03-10T00:00:00Z,0\nC1,2026-03-06T00:00:00Z,1\nC3,2026-03-06T00:00:00Z,0\n',
  );
}, 240_000);

/** `fstore training-set` in `cwd`, with the DuckDB databases it opens and closes recorded. */
async function trainingSet(cwd: string, out: string) {
  const log = path.join(cwd, '..', `${path.basename(cwd)}-duckdb.log`);
  const result = await runFstore(
    [
      '--defs',
      defsDir,
      '--data-dir',
      dataDir,
      'training-set',
      '--features',
      'profile:*',
      '--entities',
      entities,
      '--out',
      out,
    ],
    {
      cwd,
      env: {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${recorder}`.trim(),
        FSTORE_DUCKDB_LOG: log,
      },
    },
  );
  const events = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  return { ...result, events };
}

describe('a one-shot fstore training-set leaves DuckDB to the process exit', () => {
  it('opens its DuckDB databases and closes none, and exits 0 leaving only the result and its manifest', async () => {
    const cwd = await makeTempDir('ts-exit-cwd');
    const out = path.join(cwd, 'train.parquet');
    const { code, stdout, stderr, events } = await trainingSet(cwd, out);
    expect(code, stderr).toBe(0);
    // Its output is whole although it ends by process.exit.
    expect(stdout).toContain('4 rows × 4 columns');
    expect(stdout).toContain('manifest →');
    expect(events.filter((e) => e === 'open').length).toBeGreaterThan(0);
    expect(events.filter((e) => e === 'close')).toEqual([]);
    // No spill folder (.tmp), partial file or canonical-rows file is left in the folder.
    expect(readdirSync(cwd).sort()).toEqual(['train.manifest.json', 'train.parquet']);
  });

  it('starts opening its first DuckDB database before its definitions load, so DuckDB starts meanwhile', async () => {
    const cwd = await makeTempDir('ts-exit-early');
    const { code, stderr, events } = await trainingSet(cwd, path.join(cwd, 'train.parquet'));
    expect(code, stderr).toBe(0);
    expect(events.indexOf('definitions'), events.join(' ')).toBeGreaterThan(-1);
    expect(events.indexOf('opening'), events.join(' ')).toBeLessThan(events.indexOf('definitions'));
  });

  it('writes the same rows as a process that closes DuckDB, and a manifest whose content hash is theirs', async () => {
    const cwd = await makeTempDir('ts-exit-same');
    const out = path.join(cwd, 'train.parquet');
    const { code, stderr } = await trainingSet(cwd, out);
    expect(code, stderr).toBe(0);
    const registry = compileRegistry(await loadDefinitions(defsDir));
    const closed = path.join(await makeTempDir('ts-exit-closed'), 'train.parquet');
    await getTrainingSet({
      registry,
      dataDir,
      env: 'local',
      request: { features: ['profile:*'] },
      entities,
      out: closed,
    });
    expect(await readFile(out)).toEqual(await readFile(closed));
    const manifest = JSON.parse(await readFile(path.join(cwd, 'train.manifest.json'), 'utf8'));
    expect(manifest.output.rows).toBe(4);
    expect(manifest.output.contentHash.sha256).toBe(await contentHashOf(closed));
  });

  it('closes every database it opens in a command that is not one-shot-listed (fstore ingest)', async () => {
    const cwd = await makeTempDir('ts-exit-ingest');
    const log = path.join(cwd, 'duckdb.log');
    const rows = path.join(cwd, 'more.csv');
    await writeFile(rows, 'customer_id,monthly,event_ts\nC4,10,2026-03-03T00:00:00Z\n');
    const scratch = path.join(await makeTempDir('ts-exit-ingest-store'), '.fstore');
    const result = await runFstore(
      ['--defs', defsDir, '--data-dir', scratch, 'ingest', '--source', 'profiles', '--file', rows],
      {
        cwd,
        env: {
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${recorder}`.trim(),
          FSTORE_DUCKDB_LOG: log,
        },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const events = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    expect(events.filter((e) => e === 'open').length).toBeGreaterThan(0);
    expect(events.filter((e) => e === 'close').length).toBe(
      events.filter((e) => e === 'open').length,
    );
    expect(existsSync(path.join(cwd, '.tmp'))).toBe(false);
  });

  it('finishes its file and exits 0 when the reader of stdout and stderr has gone (2>&1 | head -1, a dead parent)', async () => {
    const cwd = await makeTempDir('ts-exit-closed');
    const out = path.join(cwd, 'closed.parquet');
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'bin', 'fstore.mjs'),
        '--defs',
        defsDir,
        '--data-dir',
        dataDir,
        'training-set',
        '--features',
        'profile:*',
        '--entities',
        entities,
        '--out',
        out,
      ],
      { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // The reader goes before the first line: every write of the CLI now meets a closed pipe.
    child.stdout.destroy();
    child.stderr.destroy();
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    expect(code).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 120_000);
});
