import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pitCases, preparePitStore } from '../../../bench/pit-store.ts';
import { type DuckdbSession, openDuckdb } from '../../../lib/offline/duckdb-session.ts';

const sizes = { entityRows: 40, featureRows: 600, entities: 10 };
const sources = pitCases.flatMap((c) => c.sources);
let session: DuckdbSession;
let dir: string;

beforeAll(async () => {
  session = await openDuckdb();
  dir = await mkdtemp(path.join(tmpdir(), 'fstore-pit-store-'));
});
afterAll(async () => {
  session.close();
  await rm(dir, { recursive: true, force: true });
});

/** Rows of `source` committed in the store, read from its Parquet files. */
async function storedRows(dataDir: string, source: string): Promise<number> {
  const glob = path.join(dataDir, 'local', 'offline', source, '**', '*.parquet');
  const reader = await session.connection.runAndReadAll(
    `SELECT count(*)::INTEGER AS n FROM read_parquet('${glob}')`,
  );
  return Number(reader.getRows()[0]?.[0]);
}

describe("bench:pit's store", () => {
  it('is rebuilt when a run was killed after an ingest committed but before the store was marked ready', async () => {
    const log: string[] = [];
    const first = await preparePitStore(session.connection, dir, sizes, (line) => log.push(line));
    expect(Object.keys(first.ingests).sort()).toEqual([...sources].sort());
    // A kill right after the first ingest's commit: its data is in the store, no ready mark.
    await rm(path.join(dir, 'ingests.json'), { force: true });
    await writeFile(path.join(dir, 'store', 'ignored-leftover.txt'), 'from the killed run');
    const again = await preparePitStore(session.connection, dir, sizes, (line) => log.push(line));
    // Each source once: the feature rows split among its case's sources.
    for (const { sources: split } of pitCases)
      for (const source of split)
        expect(await storedRows(again.dataDir, source), source).toBe(
          Math.floor(sizes.featureRows / split.length),
        );
    expect(existsSync(path.join(dir, 'store', 'ignored-leftover.txt'))).toBe(false);
    const ready = JSON.parse(await readFile(path.join(dir, 'ingests.json'), 'utf8'));
    expect(Object.keys(ready).sort()).toEqual([...sources].sort());
  }, 240_000);

  it('is reused as it is once marked ready: no ingest runs again', async () => {
    const log: string[] = [];
    const store = await preparePitStore(session.connection, dir, sizes, (line) => log.push(line));
    expect(log.filter((line) => line.includes('fstore ingest'))).toEqual([]);
    expect(Object.keys(store.ingests).sort()).toEqual([...sources].sort());
  }, 240_000);
});
