import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { athenaTileBaseWriter } from '../../lib/materialize/athena-tile-base-writer.ts';
import { plannedOnlineView } from '../../lib/materialize/materialize-view.ts';
import { baseVersion, tileBaseSequence } from '../../lib/materialize/tile-base-writer.ts';
import type { IngestRecord } from '../../lib/offline/ingest-manifest.ts';
import { athenaDialect } from '../../lib/sql/athena-dialect.ts';
import { useDynaliteTables } from '../helpers/dynalite-tables.ts';
import { tileRegistry } from '../helpers/tile-registry.ts';

const registry = tileRegistry();
const { view, planned } = plannedOnlineView(registry, 'spend');
const dynamo = useDynaliteTables('base-version');
const nowMs = Date.parse('2026-03-01T00:00:00Z');
// S3 numbers rows by the writer's clock at ingest start (ms × 2^20): 19 digits.
const seqB = 1_858_590_286_233_878_528n;
const seqA = seqB - 5n * 1_048_576n;
const spendPrefix = 'spend#0123456789ab';
const record = (id: string, firstSeq: bigint): IngestRecord => ({
  ingestId: id,
  source: 'payments',
  file: `/data/${id}.jsonl`,
  sha256: 'a'.repeat(64),
  rows: 1,
  firstSeq: Number(firstSeq),
  at: '2026-03-01T00:00:00Z',
});
const row = (seq: bigint, minutesAgo: number, amount: string) => ({
  customer_id: 'K1',
  fstore_t: String(BigInt(nowMs - minutesAgo * 60_000) * 1000n),
  fstore_created: null,
  fstore_seq: String(seq),
  amount,
  status: 'ok',
});

/** One AWS run over `records`, its base query answering `rows` (as Athena would for them). */
async function run(table: string, records: IngestRecord[], rows: Record<string, unknown>[]) {
  const writer = athenaTileBaseWriter({
    registry,
    view,
    planned,
    runner: {
      run: async () => ({ queryExecutionId: 'q' }),
      typedRows: async function* () {
        yield* rows;
      },
    } as never,
    dialect: athenaDialect('fstore_dev'),
    records: async () => records,
    client: dynamo.client,
    table,
    now: () => nowMs,
  });
  if (!writer) throw new Error('spend is tile-fed');
  return writer.writeEntities([{ customer_id: 'K1' }], {
    view: planned,
    window: { until: '2026-03-01T00:00:00.000000Z' },
  });
}

/**
 * Every item's base texts (`bt`, `br`). Not `bs`: an item whose text a run leaves as it is
 * keeps the version it was written at.
 */
async function bases(table: string) {
  const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: table }));
  return Object.fromEntries(
    Items.map((item) => [
      item.pk?.S,
      Object.fromEntries(Object.entries(item).filter(([name]) => name === 'bt' || name === 'br')),
    ]),
  );
}

describe('the version of a tile base (bs)', () => {
  it('is rewritten when a later run reads an ingest committed late with lower numbers, as a base written from scratch', async () => {
    // Ingest A started first (lower numbers) but committed after the first run read B alone.
    const late = await dynamo.newTable();
    const first = await run(late, [record('B', seqB)], [row(seqB, 10, '2.5')]);
    expect(first.itemsWritten).toBeGreaterThan(0);
    const second = await run(
      late,
      [record('B', seqB), record('A', seqA)],
      [row(seqA, 30, '1.25'), row(seqB, 10, '2.5')],
    );
    expect(second.itemsWritten).toBeGreaterThan(0);
    expect(second.itemsAlreadyNewer).toBe(0);
    const scratch = await dynamo.newTable();
    await run(
      scratch,
      [record('B', seqB), record('A', seqA)],
      [row(seqA, 30, '1.25'), row(seqB, 10, '2.5')],
    );
    expect(await bases(late)).toEqual(await bases(scratch));
    // The same records again change nothing.
    const third = await run(
      late,
      [record('A', seqA), record('B', seqB)],
      [row(seqA, 30, '1.25'), row(seqB, 10, '2.5')],
    );
    expect(third.itemsWritten).toBe(0);
  });

  it('grows with the sequence first, then with the rows read at it; a bs written as S alone is older', () => {
    const one = tileBaseSequence([record('B', seqB)], 'payments', spendPrefix);
    const two = tileBaseSequence([record('B', seqB), record('A', seqA)], 'payments', spendPrefix);
    const later = tileBaseSequence([record('C', seqB + 1_048_576n)], 'payments', spendPrefix);
    if (!one || !two || !later) throw new Error('records');
    expect(two.maxSeq).toBe(one.maxSeq);
    expect(two.version).toBeGreaterThan(one.version);
    expect(later.version).toBeGreaterThan(two.version);
    expect(one.version).toBeGreaterThan(seqB);
    expect(two.version.toString().length).toBeLessThanOrEqual(38);
  });

  it('refuses a count of rows that would reach the next sequence', () => {
    expect(baseVersion(3n, 10n ** 18n - 1n)).toBeLessThan(baseVersion(4n, 0n));
    expect(() => baseVersion(3n, 10n ** 18n)).toThrow(/no tile base version/);
  });

  it("clears the stored base of an entity with no row left in the run's base", async () => {
    const table = await dynamo.newTable();
    await run(table, [record('B', seqB)], [row(seqB, 10, '2.5')]);
    expect(Object.values(await bases(table)).some((b) => Object.keys(b as object).length > 0)).toBe(
      true,
    );
    // B's row erased offline; a later ingest of another entity raises the version.
    const counts = await run(table, [record('B', seqB), record('C', seqB + 1_048_576n)], []);
    expect(
      Object.values(await bases(table)).filter((b) => Object.keys(b as object).length > 0),
    ).toEqual([]);
    expect(counts.entities).toBe(1);
  });
});
