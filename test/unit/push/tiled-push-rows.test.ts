import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { tileBaseSequence } from '../../../lib/materialize/tile-base-writer.ts';
import { DamagedCommitRecordError } from '../../../lib/offline/damaged-commit-record.ts';
import { type IngestRecord, tiledRowsByViewMarker } from '../../../lib/offline/ingest-manifest.ts';
import { executePush } from '../../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../../lib/push/push-limits.ts';
import { pushIdOfLog } from '../../../lib/push/push-log.ts';
import {
  tiledRowRuns,
  tiledRowRunsByView,
  tiledRowsRecordFields,
  tiledSeqRanges,
} from '../../../lib/push/tiled-push-rows.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';
import { tileRegistry } from '../../helpers/tile-registry.ts';

const spendPrefix = 'spend#0123456789ab';
const twinPrefix = 'spend_twin#ba9876543210';
const record = (fields: Partial<IngestRecord>): IngestRecord => ({
  ingestId: 'i1',
  source: 'payments',
  file: '/in/rows.jsonl',
  sha256: '',
  rows: 10,
  firstSeq: 100,
  at: '',
  ...fields,
});
const logFolder = path.join(path.sep, 'data', 'offline', '_push', 'payments');
const legacyLog = path.join(logFolder, `20261202T010000.000001-${'b'.repeat(32)}.jsonl`);

describe('the pushed rows of a commit record that are in tiles (ADR 0020)', () => {
  it('are the offsets the record names, from its first fstore_seq', () => {
    expect(
      tiledSeqRanges(
        record({
          pushTiledRows: [
            [0, 2],
            [5, 10],
          ],
        }),
        'payments',
        spendPrefix,
      ),
    ).toEqual([
      [100n, 101n],
      [105n, 109n],
    ]);
  });

  it('are none for an ingest whose pushes reached no tiles, even of a push log', () => {
    expect(
      tiledSeqRanges(record({ pushTiledRows: [], file: legacyLog }), 'payments', spendPrefix),
    ).toEqual([]);
  });

  it('are every row of a push-log ingest committed before records said so, and none of other ingests', () => {
    expect(tiledSeqRanges(record({ file: legacyLog }), 'payments', spendPrefix)).toEqual([
      [100n, 109n],
    ]);
    expect(tiledSeqRanges(record({ file: legacyLog }), 'audit', spendPrefix)).toEqual([]);
    expect(tiledSeqRanges(record({}), 'payments', spendPrefix)).toEqual([]);
  });

  it('are none of the rows of logs named without a push id (older than tiles), even where a record an earlier release wrote marks them tiled', () => {
    const firstFormat = path.join(logFolder, '20261201T050000-abcdef123456.jsonl');
    for (const fields of [{}, { pushTiledRows: [[0, 10]] as [number, number][] }])
      expect(
        tiledSeqRanges(record({ file: firstFormat, ...fields }), 'payments', spendPrefix),
      ).toEqual([]);
    // In a batch, such a log's rows run from its pushLogs entry to the next one's.
    const batch = record({
      file: path.join(logFolder, '_batch', 'batch-0123456789abcdef.jsonl'),
      pushTiledRows: [[0, 10]],
      pushLogs: [
        [0, `20261201T045959.999999-${'a'.repeat(32)}`],
        [2, '20261201T050000-abcdef123456'],
        [5, '20261201T050000.000001-0123456789ab'],
        [6, `20261202T010000.000001-${'c'.repeat(32)}`],
        [8, 'replayed by hand'],
      ],
    });
    expect(tiledSeqRanges(batch, 'payments', spendPrefix)).toEqual([
      [100n, 101n],
      [106n, 107n],
    ]);
    // A record whose pushLogs do not read back changes nothing here (pushLogOrder refuses it).
    expect(
      tiledSeqRanges(
        record({
          ...batch,
          pushLogs: [
            [0, 'x'],
            [0, 'y'],
          ],
        }),
        'payments',
        spendPrefix,
      ),
    ).toEqual([[100n, 109n]]);
  });

  it('accepts adjacent runs and a run ending at the last row', () => {
    const adjacent = record({
      pushTiledRows: [
        [0, 3],
        [3, 10],
      ],
    });
    expect(tiledSeqRanges(adjacent, 'payments', spendPrefix)).toHaveLength(2);
  });

  it.each([
    [
      'overlapping',
      [
        [0, 3],
        [2, 5],
      ],
    ],
    [
      'out of order',
      [
        [5, 6],
        [0, 2],
      ],
    ],
    ['past the last row', [[8, 11]]],
    ['negative', [[-1, 2]]],
    ['empty', [[3, 3]]],
    ['fractional', [[0.5, 2]]],
    ['not pairs', [[1, 2, 3]]],
    ['not a list', 'all'],
  ])('refuses offsets that are %s, naming the ingest', (_what, ranges) => {
    const bad = record({ pushTiledRows: ranges as never });
    expect(() => tiledSeqRanges(bad, 'payments', spendPrefix)).toThrow(
      /ingest i1 \(source payments\)/,
    );
    expect(() => tileBaseSequence([bad], 'payments', spendPrefix)).toThrow(
      /no tile base is written/,
    );
    // By a name the sharded state machine does not retry: the record reads the same again.
    expect(() => tiledSeqRanges(bad, 'payments', spendPrefix)).toThrow(DamagedCommitRecordError);
  });

  it('are, for a view version, the rows tiled for every version and those tiled for it, not for other versions', () => {
    const mixed = record({
      pushTiledRows: [[8, 10]],
      pushTiledRowsByView: {
        [spendPrefix]: [
          [0, 2],
          [4, 5],
        ],
        [twinPrefix]: [[0, 4]],
      },
    });
    expect(tiledSeqRanges(mixed, 'payments', spendPrefix)).toEqual([
      [100n, 101n],
      [104n, 104n],
      [108n, 109n],
    ]);
    expect(tiledSeqRanges(mixed, 'payments', twinPrefix)).toEqual([
      [100n, 103n],
      [108n, 109n],
    ]);
    // A version no push wrote to (a new version, a view that gained onlineTiles).
    expect(tiledSeqRanges(mixed, 'payments', 'spend#ffffffffffff')).toEqual([[108n, 109n]]);
    // A record of a push log naming view versions only is not read by the rule before the fields.
    const named = record({ file: legacyLog, pushTiledRowsByView: { [twinPrefix]: [[0, 10]] } });
    expect(tiledSeqRanges(named, 'payments', spendPrefix)).toEqual([]);
  });

  it.each([
    ['not an object', [[0, 2]]],
    ['keyed by no tile prefix', { spend: [[0, 2]] }],
    [
      'with overlapping offsets',
      {
        [spendPrefix]: [
          [0, 3],
          [2, 5],
        ],
      },
    ],
    ['with offsets past the last row', { [spendPrefix]: [[8, 11]] }],
    ['with offsets that are not a list', { [spendPrefix]: 'all' }],
  ])('refuses per-view offsets %s, naming the ingest and the field', (_what, byView) => {
    const bad = record({ pushTiledRows: [], pushTiledRowsByView: byView as never });
    expect(() => tiledSeqRanges(bad, 'payments', spendPrefix)).toThrow(
      /ingest i1 \(source payments\) holds pushTiledRowsByView.*no tile base is written/,
    );
    // Refused for every view version, also one the bad entry does not name.
    expect(() => tileBaseSequence([bad], 'payments', twinPrefix)).toThrow(/pushTiledRowsByView/);
  });

  it('are read alike from a record whose pushTiledRows is the marker older releases refuse, its every-version offsets in pushTiledRowsEvery', () => {
    const byView = {
      [spendPrefix]: [
        [0, 2],
        [4, 5],
      ] as [number, number][],
      [twinPrefix]: [[0, 4]] as [number, number][],
    };
    const marked = record(tiledRowsRecordFields([[8, 10]], byView));
    expect(marked.pushTiledRows).toBe(tiledRowsByViewMarker);
    const asBefore = record({ pushTiledRows: [[8, 10]], pushTiledRowsByView: byView });
    for (const prefix of [spendPrefix, twinPrefix, 'spend#ffffffffffff'])
      expect(tiledSeqRanges(marked, 'payments', prefix)).toEqual(
        tiledSeqRanges(asBefore, 'payments', prefix),
      );
    // Without per-view offsets a record keeps the form every release reads.
    expect(tiledRowsRecordFields([[0, 1]], undefined)).toEqual({ pushTiledRows: [[0, 1]] });
  });

  it.each([
    ['its every-version offsets missing', { pushTiledRowsByView: {} }, /pushTiledRowsEvery/],
    [
      'its every-version offsets past the last row',
      { pushTiledRowsEvery: [[8, 11]], pushTiledRowsByView: {} },
      /pushTiledRowsEvery \[\[8,11\]\], which are not increasing/,
    ],
    [
      'no per-view offsets',
      { pushTiledRowsEvery: [] },
      /holds pushTiledRows "by view version.*which names pushTiledRowsByView, which the record lacks/,
    ],
  ])('refuses a marked record with %s, naming the ingest', (_what, fields, message) => {
    const bad = record({ pushTiledRows: tiledRowsByViewMarker, ...(fields as object) });
    expect(() => tiledSeqRanges(bad, 'payments', spendPrefix)).toThrow(
      /ingest i1 \(source payments\)/,
    );
    expect(() => tileBaseSequence([bad], 'payments', spendPrefix)).toThrow(message);
  });

  it('leave the base the rows pushed to no tiles: only tiled offsets are left out', () => {
    const records = [
      record({ firstSeq: 1, rows: 4 }),
      record({ firstSeq: 5, rows: 6, pushTiledRows: [[1, 3]] }),
      record({ firstSeq: 11, rows: 2, pushTiledRows: [] }),
      record({ firstSeq: 13, rows: 2, pushTiledRows: [[0, 2]] }),
    ];
    expect(tileBaseSequence(records, 'payments', spendPrefix)).toEqual({
      maxSeq: 14n,
      version: 14n * 10n ** 18n + 14n,
      readRanges: [[1n, 14n]],
      pushRanges: [
        [6n, 7n],
        [13n, 14n],
      ],
    });
  });
});

describe('the tiled runs of a batch of push logs', () => {
  it('joins consecutive tiled logs and skips untiled and empty ones', () => {
    expect(
      tiledRowRuns([
        { rows: 2, tiled: true },
        { rows: 3, tiled: true },
        { rows: 1, tiled: false },
        { rows: 0, tiled: true },
        { rows: 4, tiled: true },
        { rows: 2, tiled: false },
      ]),
    ).toEqual([
      [0, 5],
      [6, 10],
    ]);
    expect(tiledRowRuns([{ rows: 3, tiled: false }])).toEqual([]);
  });
});

describe('the tiled runs of a batch of push logs by view version', () => {
  it('gives each tile prefix the runs of the logs naming it, and logs of every version their own runs', () => {
    expect(
      tiledRowRunsByView([
        { rows: 2, tiles: [spendPrefix, twinPrefix] },
        { rows: 3, tiles: [twinPrefix] },
        { rows: 1, tiles: 'every' },
        { rows: 4, tiles: [] },
        { rows: 2, tiles: [spendPrefix] },
      ]),
    ).toEqual({
      every: [[5, 6]],
      byView: {
        [spendPrefix]: [
          [0, 2],
          [10, 12],
        ],
        [twinPrefix]: [[0, 5]],
      },
    });
  });
});

describe('a push log name', () => {
  const id = 'a'.repeat(32);
  it('keeps the push id of logs tiled, untiled or named by their tile set', () => {
    expect(pushIdOfLog(`/x/20260301T000000.000001-${id}.jsonl`)).toBe(id);
    expect(pushIdOfLog(`/x/20260301T000000.000001-${id}.untiled.jsonl`)).toBe(id);
    expect(pushIdOfLog(`/x/20260301T000000.000001-${id}.tiles-0123456789abcdef.jsonl`)).toBe(id);
    expect(pushIdOfLog(`/x/20260301T000000.000001-${id}.other.jsonl`)).toBe(undefined);
  });
});

describe('what executePush tells the offline store about tiles', () => {
  const at = new Date(Date.now() - 60_000).toISOString();
  const placementOf = async (
    registry: ReturnType<typeof pushRegistryProjection>,
    to: 'offline' | 'online_and_offline',
  ) => {
    let tiles: readonly string[] | undefined;
    await executePush(
      {
        registry,
        online: {
          client: new DynamoDBClient({ region: 'eu-west-1' }),
          putItem: async () => {},
          table: 'fstore-dev-online',
        },
        offline: async (_source, _rows, push) => {
          tiles = push.tiles;
        },
      },
      defaultPushLimits,
      'payments',
      { rows: [paymentRow(at)], to },
    ).catch(() => undefined);
    return tiles;
  };

  it('names the tile prefix of each tile-fed view version for a push to both stores', async () => {
    const registry = tileRegistry();
    const spend = registry.featureViews.find((v) => v.name === 'spend');
    expect(await placementOf(pushRegistryProjection(registry), 'online_and_offline')).toEqual([
      spend?.onlineStore.keyPrefix,
    ]);
  });

  it('names none for a push "to": "offline", and for a source no tile-fed view reads', async () => {
    expect(await placementOf(pushRegistryProjection(tileRegistry()), 'offline')).toEqual([]);
    expect(await placementOf(pushRegistryProjection(pushRegistry()), 'online_and_offline')).toEqual(
      [],
    );
  });
});
