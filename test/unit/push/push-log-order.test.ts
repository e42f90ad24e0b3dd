import { describe, expect, it } from 'vitest';
import { DamagedCommitRecordError } from '../../../lib/offline/damaged-commit-record.ts';
import type { IngestRecord } from '../../../lib/offline/ingest-manifest.ts';
import { pushLogEntries, pushLogKey } from '../../../lib/push/push-log.ts';
import { pushLogOrder } from '../../../lib/push/push-log-order.ts';

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
const log = (n: number) => `20260301T000000.${String(n).padStart(6, '0')}-${'b'.repeat(32)}`;

describe('the push logs ingested up to each row of a source (ADR 0020, "Ties for `last`")', () => {
  it("gives each row the greatest key among the logs starting at or before it: a log's own rows, then the batch rows after it", () => {
    const upTo = pushLogOrder(
      [
        record({ firstSeq: 1, rows: 5 }),
        record({
          firstSeq: 6,
          rows: 6,
          pushLogs: [
            [0, log(1)],
            [2, log(2)],
            [5, log(3)],
          ],
        }),
        record({ firstSeq: 12, rows: 4 }),
        record({ source: 'other', firstSeq: 16, rows: 2, pushLogs: [[0, log(9)]] }),
        record({ firstSeq: 18, rows: 1, pushLogs: [[0, log(4)]] }),
      ],
      'payments',
    );
    expect([1n, 5n].map(upTo)).toEqual([undefined, undefined]);
    expect([6n, 7n, 8n, 10n, 11n].map(upTo)).toEqual([log(1), log(1), log(2), log(2), log(3)]);
    expect([12n, 15n, 17n].map(upTo)).toEqual([log(3), log(3), log(3)]);
    expect([18n, 99n].map(upTo)).toEqual([log(4), log(4)]);
  });

  it('never falls as the sequence grows, whatever the keys', () => {
    const upTo = pushLogOrder(
      [
        record({
          firstSeq: 1,
          rows: 3,
          pushLogs: [
            [0, log(5)],
            [1, log(2)],
          ],
        }),
      ],
      'payments',
    );
    expect([1n, 2n, 3n].map(upTo)).toEqual([log(5), log(5), log(5)]);
  });

  it('refuses a record whose logs are not increasing offsets within its rows with log keys, naming it', () => {
    for (const pushLogs of [
      [],
      [
        [0, log(1)],
        [0, log(2)],
      ],
      [[10, log(1)]],
      [[-1, log(1)]],
      [[0, 7]],
      [[0.5, log(1)]],
      [0],
    ])
      expect(
        () =>
          pushLogOrder(
            [record({ ingestId: 'ing-7', pushLogs: pushLogs as [number, string][] })],
            'payments',
          ),
        JSON.stringify(pushLogs),
      ).toThrow(/commit record of ingest ing-7 \(source payments\) holds pushLogs .* no tile base/);
    expect(() => pushLogOrder([record({ pushLogs: [[0, 7]] as never })], 'payments')).toThrow(
      DamagedCommitRecordError,
    );
  });

  it('reads a record holding the key of a first-format log (stamp to the second, 12 hex), which compaction wrote before, and leaves such keys out of the records it writes', () => {
    const first = '/d/offline/_push/payments/20250101T120000-abcdef123456.jsonl';
    const logRecord = (n: number, key: string): IngestRecord => ({
      ingestId: `i${n}`,
      source: 'payments',
      file: `/d/offline/_push/payments/${key}.jsonl`,
      sha256: '',
      rows: 1,
      firstSeq: n,
      at: '',
      pushLogs: [[0, key]],
    });
    // What compaction wrote for such a log before this fix (that record stopped every base).
    const key = pushLogKey(first);
    const earlier = `20250101T115959.999999-${'c'.repeat(32)}`;
    const later = `20250101T120000.000000-${'c'.repeat(32)}`;
    const upTo = pushLogOrder(
      [logRecord(1, earlier), logRecord(2, key), logRecord(3, later)],
      'payments',
    );
    // Its rows, base rows, rank after the keyed logs ingested before them, before later ones.
    expect([1n, 2n, 3n].map(upTo)).toEqual([earlier, earlier, later]);
    // Now left out when written: a release before this fix reads the records of this one.
    expect(pushLogEntries(first, 0)).toEqual([]);
    expect(pushLogEntries(`/d/${later}.tiles-0123456789abcdef.jsonl`, 3)).toEqual([[3, later]]);
  });

  it('leaves a file named as no log out of a record it writes, and out of the order of records that hold it', () => {
    expect(pushLogEntries('/d/offline/_push/payments/replayed by hand.jsonl', 4)).toEqual([]);
    // A record the release before this one wrote for such a file: read, the file's key ignored.
    const upTo = pushLogOrder(
      [
        record({
          firstSeq: 1,
          rows: 4,
          pushLogs: [
            [0, log(1)],
            [2, 'replayed by hand'],
          ],
        }),
      ],
      'payments',
    );
    expect([1n, 3n, 4n].map(upTo)).toEqual([log(1), log(1), log(1)]);
  });
});
