import { describe, expect, it } from 'vitest';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { type IngestRecord, readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { appendPushLog } from '../../lib/push/push-log.ts';
import type { RowTiles } from '../../lib/push/tiled-push-rows.ts';
import { tiledSeqRanges } from '../../lib/push/tiled-push-rows.ts';
import { validatePushRows } from '../../lib/push/validate-push-rows.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import * as olderLogNames from '../helpers/release-7ba226c/push-log-names.ts';
import * as olderRecords from '../helpers/release-7ba226c/tiled-push-rows.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

// ADR 0020, "Rollback and mixed versions": what the release before the per-view-version tiled
// mark (7ba226c) does with the records and logs this release writes.
const registry = pushRegistry();
const spendPrefix = 'spend#0123456789ab';
const twinPrefix = 'spend_twin#ba9876543210';
const at = '2026-03-01T11:00:00Z';

async function pushLog(dataDir: string, customers: readonly string[], tiles: RowTiles) {
  const source = registry.sources.find((s) => s.name === 'payments');
  if (!source) throw new Error('no payments source');
  const rows = validatePushRows(
    registry,
    source,
    customers.map((customer) => paymentRow(at, { customer_id: customer })),
    { nowMicros: epochMicrosOf('2026-03-01T12:00:00Z'), maxFutureSkewSeconds: 300 },
  );
  return appendPushLog(dataDir, 'local', source, rows, undefined, { tiles });
}

async function compactedRecord(dataDir: string): Promise<IngestRecord> {
  await compactPushLogs({ registry, dataDir, env: 'local' });
  const records = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
  expect(records).toHaveLength(1);
  return records[0] as IngestRecord;
}

const olderRead = (record: IngestRecord) =>
  olderRecords.tiledSeqRanges(
    record as Parameters<typeof olderRecords.tiledSeqRanges>[0],
    'payments',
  );

describe('a commit record read by the release before the per-view-version tiled mark', () => {
  it('as 751a00c wrote it (offsets by view version, pushTiledRows empty) reads as nothing tiled: that release would count the rows in the base as well as in the tiles', () => {
    const record: IngestRecord = {
      ingestId: 'i1',
      source: 'payments',
      file: '/in/batch.jsonl',
      sha256: '',
      rows: 3,
      firstSeq: 100,
      at: '',
      pushTiledRows: [],
      pushTiledRowsByView: { [spendPrefix]: [[0, 3]] },
    };
    expect(tiledSeqRanges(record, 'payments', spendPrefix)).toEqual([[100n, 102n]]);
    expect(olderRead(record)).toEqual([]);
  });

  it('of logs tiled by view version (a batch, and one log alone) is refused, naming the ingest and that no tile base is written; this release reads it', async () => {
    const batched = await makeTempDir('older-release-batch');
    await pushLog(batched, ['A', 'B'], [spendPrefix]);
    await pushLog(batched, ['C'], []);
    await pushLog(batched, ['D'], 'every');
    const batch = await compactedRecord(batched);
    expect(() => olderRead(batch)).toThrow(
      new RegExp(
        `^the commit record of ingest ${batch.ingestId} \\(source payments\\) holds pushTiledRows "by view version, in pushTiledRowsEvery and pushTiledRowsByView: this fstore predates them; upgrade it to build tile bases", which are not increasing .* no tile base is written from it$`,
      ),
    );
    const first = BigInt(batch.firstSeq);
    expect(tiledSeqRanges(batch, 'payments', spendPrefix)).toEqual([
      [first, first + 1n],
      [first + 3n, first + 3n],
    ]);
    expect(tiledSeqRanges(batch, 'payments', twinPrefix)).toEqual([[first + 3n, first + 3n]]);

    const single = await makeTempDir('older-release-single');
    await pushLog(single, ['A', 'B'], [spendPrefix, twinPrefix]);
    const alone = await compactedRecord(single);
    expect(() => olderRead(alone)).toThrow(/holds pushTiledRows "by view version, .*upgrade it/);
    const start = BigInt(alone.firstSeq);
    expect(tiledSeqRanges(alone, 'payments', twinPrefix)).toEqual([[start, start + 1n]]);
    expect(tiledSeqRanges(alone, 'payments', 'other#00')).toEqual([]);
  });

  it('of logs tiled for every view version or none keeps pushTiledRows as offsets, read alike by both releases', async () => {
    const dataDir = await makeTempDir('older-release-alike');
    await pushLog(dataDir, ['A'], 'every');
    await pushLog(dataDir, ['B', 'C'], []);
    const record = await compactedRecord(dataDir);
    expect(record.pushTiledRows).toEqual([[0, 1]]);
    expect(record.pushTiledRowsByView).toBeUndefined();
    const first = BigInt(record.firstSeq);
    expect(olderRead(record)).toEqual([[first, first]]);
    expect(tiledSeqRanges(record, 'payments', spendPrefix)).toEqual([[first, first]]);
  });
});

describe('a push log name read by the release before the per-view-version tiled mark', () => {
  it('of rows tiled by view version is read as tiled for every view version (its own meaning for the same push), never as untiled; without its push id', async () => {
    const dataDir = await makeTempDir('older-release-names');
    const tiled = await pushLog(dataDir, ['A'], [spendPrefix]);
    const untiled = await pushLog(dataDir, ['B'], []);
    expect(olderLogNames.logIsTiled(tiled)).toBe(true);
    expect(olderLogNames.logIsTiled(untiled)).toBe(false);
    // Read by the older content rule, not by push id: the residue ADR 0020 names.
    expect(olderLogNames.pushIdOfLog(tiled)).toBeUndefined();
    expect(olderLogNames.pushIdOfLog(untiled)).toMatch(/^[0-9a-f]{32}$/);
  });
});
