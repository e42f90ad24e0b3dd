import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { quoteLiteral } from '../../lib/sql/dialect.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', age: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const customerAge = defineFeatureView({ name: 'customer_age', entities: [customer], source: profiles, features: { age: 'int64' } });
`;

/** Every customer_id in every Parquet file under profiles/, committed, kept or left over. */
async function onDisk(dataDir: string): Promise<string[]> {
  const glob = path.join(offlineRoot(dataDir, 'local'), 'profiles', '*', '*.parquet');
  const session = await openDuckdb();
  try {
    const rows = await queryRows(
      session.connection,
      `SELECT customer_id FROM read_parquet(${quoteLiteral(glob)}, hive_partitioning = false) ORDER BY customer_id`,
    );
    return rows.map((r) => String(r.customer_id));
  } catch (error) {
    if (isNoFilesError(error)) return [];
    throw error;
  } finally {
    session.close();
  }
}

describe('fstore delete after a compaction, killed after its commit', () => {
  it('leaves the kept replaced file holding the entity to the rerun, which deletes it', async () => {
    const work = await makeTempDir('delete-compacted');
    const dataDir = path.join(work, '.fstore');
    const defsDir = await writeDefs(
      { 'defs.ts': defs },
      await makeTempDir('delete-compacted-defs'),
    );
    const fstore = (args: string[], env: Record<string, string> = {}) =>
      runFstore(['--defs', defsDir, '--data-dir', dataDir, ...args], { env });
    for (const [name, id, age] of [
      ['a.jsonl', 'C1', 30],
      ['b.jsonl', 'C2', 31],
    ] as const) {
      const file = path.join(work, name);
      await writeFile(
        file,
        `${JSON.stringify({ customer_id: id, age, event_ts: '2026-11-30T00:00:00Z' })}\n`,
      );
      const ingested = await fstore(['ingest', '--source', 'profiles', '--file', file]);
      expect(ingested.code, ingested.stderr).toBe(0);
    }
    const compacted = await fstore(['compact']);
    expect(compacted.code, compacted.stderr).toBe(0);
    // The merged file, and the two replaced files kept for late readers.
    expect(await onDisk(dataDir)).toEqual(['C1', 'C1', 'C2', 'C2']);

    const killed = await fstore(['delete', '--entity', 'customer_id=C1', '--yes'], {
      FSTORE_FAULT: 'delete:after-commit',
    });
    expect(killed.code, killed.stdout + killed.stderr).toBeNull();
    // Committed without C1; the files it deletes after the commit are still there.
    expect(await onDisk(dataDir)).toContain('C1');

    const rerun = await fstore(['delete', '--entity', 'customer_id=C1', '--yes']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await onDisk(dataDir)).toEqual(['C2', 'C2']);
    const doctor = await fstore(['doctor']);
    expect(doctor.stdout).toMatch(/✔ │ .*no leftovers/);
  }, 240_000);
});
