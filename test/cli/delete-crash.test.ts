import { existsSync } from 'node:fs';
import { cp, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { erasureAuditPath } from '../../lib/erasure/erasure-audit.ts';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { makeTempDir, runFstore, spawnFstore } from '../helpers/run-fstore.ts';

const sources = ['orders', 'customer_profiles', 'customer_contracts'] as const;

/** Every row of a source as the offline readers see it (the relation training sets read). */
async function stored(dataDir: string, source: string): Promise<Record<string, unknown>[]> {
  const session = await openDuckdb();
  try {
    const relation = duckdbDialect(offlineRoot(dataDir, 'local')).sourceRelation(source);
    return await queryRows(
      session.connection,
      `SELECT * FROM ${relation} ORDER BY fstore_seq`,
    ).catch((error: unknown) => {
      if (isNoFilesError(error)) return [];
      throw error;
    });
  } finally {
    session.close();
  }
}

async function allStored(dataDir: string) {
  return Object.fromEntries(
    await Promise.all(sources.map(async (s) => [s, await stored(dataDir, s)] as const)),
  );
}

interface DeleteJson {
  offline: { source: string; rows: number; files: number }[];
  quarantine: { file: string; rows: number }[];
  online: { view: string; items: number }[];
}

const fstore = (dataDir: string, args: string[], env: Record<string, string> = {}) =>
  runFstore(['--data-dir', dataDir, ...args], { env });

/** What a dry run finds left of `entity`: every count summed. */
async function leftOf(dataDir: string, entity: string): Promise<number> {
  const counted = await fstore(dataDir, ['delete', '--entity', entity, '--dry-run', '--json']);
  expect(counted.code, counted.stderr).toBe(0);
  const json = JSON.parse(counted.stdout) as DeleteJson;
  return (
    json.offline.reduce((n, o) => n + o.rows, 0) +
    json.quarantine.reduce((n, q) => n + q.rows, 0) +
    json.online.reduce((n, o) => n + o.items, 0)
  );
}

async function dataFileNames(dataDir: string): Promise<string[]> {
  const names: string[] = [];
  for (const source of sources) {
    const dir = path.join(offlineRoot(dataDir, 'local'), source);
    for (const partition of await readdir(dir).catch(() => []))
      for (const name of await readdir(path.join(dir, partition)).catch(() => []))
        names.push(`${source}/${partition}/${name}`);
  }
  return names.sort();
}

describe('fstore delete killed with SIGKILL at each step (FSTORE_FAULT), then run again', () => {
  let template: string;
  let entity: string;
  let expected: Record<string, Record<string, unknown>[]>;

  beforeAll(async () => {
    template = await makeTempDir('delete-template');
    const demo = path.join(template, 'demo');
    const generated = await fstore(template, [
      'demo-data',
      '--customers',
      '40',
      '--days',
      '20',
      '--end',
      '2026-06-01',
      '--format',
      'csv',
      '--out',
      demo,
    ]);
    expect(generated.code, generated.stderr).toBe(0);
    for (const source of sources) {
      const ingested = await fstore(template, [
        'ingest',
        '--source',
        source,
        '--file',
        path.join(demo, `${source}.csv`),
      ]);
      expect(ingested.code, ingested.stderr).toBe(0);
    }
    const materialized = await fstore(template, ['materialize', '--end', '2026-06-01T00:00:00Z']);
    expect(materialized.code, materialized.stderr).toBe(0);
    const before = await allStored(template);
    entity = `customer_id=${String(before.orders?.[0]?.customer_id)}`;
    const id = entity.split('=')[1];
    expect(await leftOf(template, entity)).toBeGreaterThan(2);
    expected = Object.fromEntries(
      Object.entries(before).map(([s, rows]) => [s, rows.filter((r) => r.customer_id !== id)]),
    );
  }, 300_000);

  it('deletes every row and item of the entity in one run, and a second run finds 0 and succeeds', async () => {
    const dataDir = await makeTempDir('delete-clean');
    await cp(template, dataDir, { recursive: true });
    const first = await fstore(dataDir, ['delete', '--entity', entity, '--yes']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/offline orders: deleted [1-9]\d* rows?/);
    expect(await allStored(dataDir)).toEqual(expected);
    expect(await leftOf(dataDir, entity)).toBe(0);
    const second = await fstore(dataDir, ['delete', '--entity', entity, '--yes']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('offline orders: deleted 0 rows');
    const audit = await readFile(erasureAuditPath(dataDir, 'local'), 'utf8');
    expect(audit.trim().split('\n')).toHaveLength(2);
    expect(audit).not.toContain(entity.split('=')[1]);
  }, 180_000);

  it.each([
    { point: 'delete:after-rewrite', offlineDone: false, leftover: 'uncommitted data file' },
    { point: 'delete:before-commit', offlineDone: false, leftover: 'temporary manifest' },
    { point: 'delete:after-commit', offlineDone: true, leftover: 'superseded data file' },
    { point: 'delete:before-online', offlineDone: true, leftover: undefined },
  ])(
    'killed at $point: the offline rows are all there or all gone, and a rerun ends as one clean run',
    async ({ point, offlineDone, leftover }) => {
      const dataDir = await makeTempDir('delete-crash');
      await cp(template, dataDir, { recursive: true });
      const filesBefore = await dataFileNames(dataDir);
      const killed = await fstore(dataDir, ['delete', '--entity', entity, '--yes'], {
        FSTORE_FAULT: point,
      });
      expect(killed.code, killed.stdout + killed.stderr).toBeNull();
      const between = await allStored(dataDir);
      if (offlineDone) expect(between).toEqual(expected);
      else expect(between).not.toEqual(expected);
      expect(await leftOf(dataDir, entity)).toBeGreaterThan(0);
      // What the killed run left, as doctor names it (the old files still hold the rows).
      const found = await fstore(dataDir, ['doctor']);
      if (leftover) expect(found.stdout).toContain(`  ${leftover}  `);
      else expect(found.stdout).toMatch(/✔ │ .*no leftovers/);

      const rerun = await fstore(dataDir, ['delete', '--entity', entity, '--yes']);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(await allStored(dataDir)).toEqual(expected);
      expect(await leftOf(dataDir, entity)).toBe(0);
      // Leftovers of the killed run (new files, or the old ones it had not deleted) are gone.
      const files = await dataFileNames(dataDir);
      expect(files.filter((f) => filesBefore.includes(f)).length).toBeLessThan(filesBefore.length);
      const doctor = await fstore(dataDir, ['doctor']);
      expect(doctor.stdout).toMatch(/✔ │ .*no leftovers/);
    },
    180_000,
  );
  it('stopped (SIGTERM) with its rewritten files in place, before the commit: exits 143, deletes nothing, leaves nothing; a rerun deletes', async () => {
    const dataDir = await makeTempDir('delete-stop');
    await cp(template, dataDir, { recursive: true });
    const before = await allStored(dataDir);
    const filesBefore = await dataFileNames(dataDir);
    const run = spawnFstore(['--data-dir', dataDir, 'delete', '--entity', entity, '--yes'], {
      env: { FSTORE_PAUSE_AT: 'delete:before-commit' },
    });
    await run.waitFor(/fstore-pause: delete:before-commit/, 120_000);
    expect((await dataFileNames(dataDir)).length).toBeGreaterThan(filesBefore.length);
    expect(await run.stop('SIGTERM')).toBe(143);
    expect(run.stderr()).toContain(
      'stopped before the offline commit: nothing was deleted offline',
    );
    expect(await allStored(dataDir)).toEqual(before);
    expect(await dataFileNames(dataDir)).toEqual(filesBefore);
    expect((await fstore(dataDir, ['doctor'])).stdout).toMatch(/✔ │ .*no leftovers/);
    expect(existsSync(erasureAuditPath(dataDir, 'local'))).toBe(false);

    const rerun = await fstore(dataDir, ['delete', '--entity', entity, '--yes']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await allStored(dataDir)).toEqual(expected);
  }, 240_000);
});
