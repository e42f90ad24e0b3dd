import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compileRegistry, loadDefinitions, type Registry } from '../../lib/registry/index.ts';
import { makeTempDir, repoRoot, runFstore, spawnFstore } from '../helpers/run-fstore.ts';

type Row = Record<string, unknown>;
const ready = /lookup API ready on (http:\/\/127\.0\.0\.1:\d+)/;
const customers = ['C000001', 'C000002', 'C000010', 'C000100', 'C000500', 'C000999'];

async function lookup(url: string, ids: readonly string[]) {
  const response = await fetch(`${url}/v1/features/churn_online`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entities: ids.map((customer_id) => ({ customer_id })) }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    results: { features: Record<string, { value: unknown }> }[];
  };
  return body.results.map((r) =>
    Object.fromEntries(Object.entries(r.features).map(([name, f]) => [name, f.value])),
  );
}

/** CSV written by `fstore training-set --out x.csv` (no quoted commas in the demo data). */
function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\n');
  const names = (head ?? '').split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(names.map((n, i) => [n, cells[i] ?? '']));
  });
}

const csvText = (value: unknown) => (value === null || value === undefined ? '' : String(value));

/** CSV cells as the same value: numbers by value (DuckDB writes 120.0 for a DOUBLE 120). */
function cell(text: string | undefined): string | number {
  return text !== undefined && text !== '' && Number.isFinite(Number(text))
    ? Number(text)
    : (text ?? '');
}

/** Point-in-time values by brute force over every stored row (docs/point-in-time.md rules). */
function bruteForce(registry: Registry, rowsBySource: Map<string, Row[]>, entity: Row): Row {
  const t = Date.parse(String(entity.event_timestamp));
  const service = registry.featureServices.find((s) => s.name === 'churn_v1');
  const out: Row = {};
  for (const selected of service?.features ?? []) {
    const view = registry.featureViews.find((v) => v.name === selected.view);
    const source = registry.sources.find((s) => s.name === view?.source);
    if (!view || !source) throw new Error(`unknown view ${selected.view}`);
    const ttlMs = (view.ttlSeconds ?? Number.POSITIVE_INFINITY) * 1000;
    let winner: Row | undefined;
    for (const row of rowsBySource.get(source.name) ?? []) {
      if (row.customer_id !== entity.customer_id) continue;
      const ts = Date.parse(`${String(row[source.timestampField])}Z`);
      if (ts > t || ts < t - ttlMs) continue;
      if (!winner || compare(row, winner, source) > 0) winner = row;
    }
    out[selected.outputName] = winner ? winner[selected.feature] : null;
  }
  return out;
}

function compare(a: Row, b: Row, source: Registry['sources'][number]): number {
  const time = (row: Row, column?: string) =>
    column && row[column] !== null ? Date.parse(`${String(row[column])}Z`) : -1;
  return (
    time(a, source.timestampField) - time(b, source.timestampField) ||
    time(a, source.createdTimestampField) - time(b, source.createdTimestampField) ||
    Number(a.fstore_seq) - Number(b.fstore_seq)
  );
}

describe('the whole store on one laptop (spawned CLI, temporary data dir, free port)', () => {
  it('serves offline-consistent values, picks up newly ingested rows after materialize, trains like the brute-force reference, and survives a restart', async () => {
    const dataDir = await makeTempDir('e2e');
    const work = await makeTempDir('e2e-files');
    const fstore = (...args: string[]) => runFstore(['--data-dir', dataDir, ...args]);
    const server = spawnFstore(['--data-dir', dataDir, 'start', '--port', '0']);
    try {
      const [, url] = await server.waitFor(ready, 180_000);

      // 1. Online values equal the offline point-in-time values at (about) materialization time.
      const now = new Date().toISOString();
      const online = await lookup(url as string, customers);
      const entitiesNow = path.join(work, 'now.csv');
      await writeFile(
        entitiesNow,
        `customer_id,event_timestamp\n${customers.map((c) => `${c},${now}`).join('\n')}\n`,
      );
      const offlineNow = path.join(work, 'offline-now.csv');
      const ts = await fstore(
        'training-set',
        '--service',
        'churn_online',
        '--entities',
        entitiesNow,
        '--out',
        offlineNow,
      );
      expect(ts.code, ts.stderr).toBe(0);
      const offline = parseCsv(await readFile(offlineNow, 'utf8'));
      for (const [index, values] of online.entries())
        for (const [name, value] of Object.entries(values))
          expect(cell(csvText(value)), `${customers[index]} ${name}`).toBe(
            cell(offline[index]?.[name]),
          );
      expect(online.filter((v) => v.plan !== null).length).toBeGreaterThanOrEqual(5);

      // 2. New rows for one customer → materialize beside the running server → served.
      const fresh = new Date(Date.now() - 60_000).toISOString();
      const newRows = path.join(work, 'new-profile.jsonl');
      await writeFile(
        newRows,
        `${JSON.stringify({ customer_id: 'C000001', age: 44, plan: 'premium', region: 'north', monthly_charges: 123.45, tenure_months: 77, event_ts: fresh, created_ts: fresh })}\n`,
      );
      const ingest = await fstore('ingest', '--source', 'customer_profiles', '--file', newRows);
      expect(ingest.code, ingest.stderr).toBe(0);
      const materialize = await fstore('materialize', '--view', 'customer_profile', '--json');
      expect(materialize.code, materialize.stderr).toBe(0);
      expect(JSON.parse(materialize.stdout)[0]).toMatchObject({
        view: 'customer_profile',
        status: 'succeeded',
        counts: { written: 1 },
      });
      const [updated] = await lookup(url as string, ['C000001']);
      expect(updated).toMatchObject({
        plan: 'premium',
        monthly_charges: 123.45,
        tenure_months: 77,
      });
      const status = await fstore('status', '--json');
      expect(status.code, status.stderr).toBe(0);
      const profile = JSON.parse(status.stdout).find(
        (s: { view: string }) => s.view === 'customer_profile',
      );
      expect(profile.state.lastRun.counts.written).toBe(1);
      expect(profile.freshnessLagMs).toBeLessThan(10 * 60_000);

      // 3. A training set for churn_v1 equals the brute-force reference over every stored row.
      const registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
      const session = await openDuckdb();
      const rowsBySource = new Map<string, Row[]>();
      try {
        for (const source of registry.sources)
          rowsBySource.set(
            source.name,
            await queryRows(
              session.connection,
              `SELECT * FROM read_parquet('${path.join(offlineRoot(dataDir, 'local'), source.name, '*', '*.parquet')}', union_by_name = true)`,
            ),
          );
      } finally {
        session.close();
      }
      const entityFile = path.join(dataDir, 'local', 'demo-data', 'entities.csv');
      const entities = parseCsv(await readFile(entityFile, 'utf8'));
      const trainOut = path.join(work, 'churn_v1.csv');
      const train = await fstore(
        'training-set',
        '--service',
        'churn_v1',
        '--entities',
        entityFile,
        '--out',
        trainOut,
      );
      expect(train.code, train.stderr).toBe(0);
      const trained = parseCsv(await readFile(trainOut, 'utf8'));
      expect(trained).toHaveLength(entities.length);
      for (const [index, entity] of entities.entries()) {
        const expected = bruteForce(registry, rowsBySource, entity);
        for (const [name, value] of Object.entries(expected))
          expect(cell(trained[index]?.[name]), `row ${index} ${name}`).toBe(cell(csvText(value)));
      }

      // 4. SIGTERM, restart on the same data dir: the same answers.
      expect(await server.stop('SIGTERM')).toBe(0);
      const restarted = spawnFstore(['--data-dir', dataDir, 'start', '--port', '0']);
      try {
        const [, again] = await restarted.waitFor(ready, 180_000);
        expect(await lookup(again as string, customers)).toEqual(
          await (async () => {
            const expected = [...online];
            expected[0] = { ...online[0], ...updated };
            return expected;
          })(),
        );
      } finally {
        expect(await restarted.stop('SIGTERM')).toBe(0);
      }
    } finally {
      await server.stop('SIGTERM');
    }
  }, 600_000);
});
