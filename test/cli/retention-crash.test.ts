import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
  retention: '10d',
});
export const lastOrder = defineFeatureView({
  name: 'last_order', entities: [customer], source: orders, features: { amount: 'float64' },
  ttl: '10d', online: true, schedule: 'rate(1 hour)',
});
`;

const hour = 3_600_000;
/**
 * Hours before the test's start (the CLI's clock is the wall clock, which moves on while the
 * tests run); three hours either side of the 10-day boundary, so (unless the boundary falls
 * within 3 hours of midnight UTC) one file of the boundary's day holds rows of both sides and
 * is rewritten.
 */
const hoursAgo = [30 * 24, 20 * 24, 10 * 24 + 3, 10 * 24 - 3, 5 * 24, 1];
const oldRows = 3;

async function stored(dataDir: string): Promise<Record<string, unknown>[]> {
  const session = await openDuckdb();
  try {
    const relation = duckdbDialect(offlineRoot(dataDir, 'local')).sourceRelation('orders');
    return await queryRows(
      session.connection,
      `SELECT customer_id, fstore_seq FROM ${relation} ORDER BY fstore_seq`,
    ).catch((error: unknown) => {
      if (isNoFilesError(error)) return [];
      throw error;
    });
  } finally {
    session.close();
  }
}

describe('fstore retention (CLI), killed with SIGKILL at each step (FSTORE_FAULT), then run again', () => {
  let template: string;
  let defsDir: string;
  let all: Record<string, unknown>[];
  let kept: Record<string, unknown>[];
  const fstore = (dataDir: string, args: string[], env: Record<string, string> = {}) =>
    runFstore(['--defs', defsDir, '--data-dir', dataDir, ...args], { env });

  beforeAll(async () => {
    defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('retention-defs'));
    template = await makeTempDir('retention-template');
    const start = Date.now();
    for (const [n, part] of [hoursAgo.slice(0, 4), hoursAgo.slice(4)].entries()) {
      const file = path.join(template, `orders-${n}.jsonl`);
      await writeFile(
        file,
        part
          .map((h) =>
            JSON.stringify({
              customer_id: `C${h}`,
              amount: h,
              event_ts: new Date(start - Math.round(h * hour)).toISOString(),
            }),
          )
          .join('\n'),
      );
      const ingested = await fstore(template, ['ingest', '--source', 'orders', '--file', file]);
      expect(ingested.code, ingested.stderr).toBe(0);
    }
    all = await stored(template);
    expect(all).toHaveLength(hoursAgo.length);
    kept = all.slice(oldRows);
  }, 180_000);

  it('reports what it would free on a dry run, deletes it on a run, and finds nothing on a second', async () => {
    const dataDir = await makeTempDir('retention-clean');
    await cp(template, dataDir, { recursive: true });
    const dry = await fstore(dataDir, ['retention', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout);
    expect(planned).toMatchObject({
      dryRun: true,
      sources: [{ source: 'orders', retention: '10d', from: 'source', rowsDeleted: oldRows }],
    });
    expect(planned.sources[0].bytesFreed).toBeGreaterThan(0);
    expect(await stored(dataDir)).toEqual(all);

    const run = await fstore(dataDir, ['retention']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`orders (retention 10d; rows before `);
    expect(run.stdout).toMatch(/✔ retention deleted 3 rows, freed \d/);
    expect(await stored(dataDir)).toEqual(kept);

    const again = await fstore(dataDir, ['retention', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).sources[0]).toMatchObject({ rowsDeleted: 0, bytesFreed: 0 });
    expect(await stored(dataDir)).toEqual(kept);
  }, 120_000);

  it('refuses an unknown source, naming it, changing nothing', async () => {
    const dataDir = await makeTempDir('retention-unknown');
    await cp(template, dataDir, { recursive: true });
    const run = await fstore(dataDir, ['retention', '--source', 'ordres']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('no source "ordres" in the registry');
    expect(await stored(dataDir)).toEqual(all);
  }, 60_000);

  it.each([
    // The rewritten file is in place, uncommitted, in its staging run.
    { point: 'retention:after-rewrite', committed: false, leftover: 'staging folder' },
    { point: 'retention:before-commit', committed: false, leftover: 'temporary manifest' },
    // The old files are kept an hour for readers (listed as replaced, not leftovers); the
    // emptied staging run stays.
    { point: 'retention:after-commit', committed: true, leftover: 'staging folder' },
  ])(
    'killed at $point: the old rows are all there or all gone, and a rerun ends as one clean run',
    async ({ point, committed, leftover }) => {
      const dataDir = await makeTempDir('retention-crash');
      await cp(template, dataDir, { recursive: true });
      const killed = await fstore(dataDir, ['retention'], { FSTORE_FAULT: point });
      expect(killed.code, killed.stdout + killed.stderr).toBeNull();
      expect(await stored(dataDir)).toEqual(committed ? kept : all);
      const found = await fstore(dataDir, ['doctor']);
      expect(found.stdout).toContain(`  ${leftover}  `);

      const rerun = await fstore(dataDir, ['retention', '--json']);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(JSON.parse(rerun.stdout).sources[0].rowsDeleted).toBe(committed ? 0 : oldRows);
      expect(await stored(dataDir)).toEqual(kept);
      const clean = await fstore(dataDir, ['doctor']);
      expect(clean.stdout).toMatch(/✔ │ .*no leftovers/);
    },
    120_000,
  );
});
