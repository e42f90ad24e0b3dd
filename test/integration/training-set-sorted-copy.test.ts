import { existsSync } from 'node:fs';
import { cp, readdir, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { compactStore } from '../../lib/offline/compact.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { KEY_LIST_MAX_ROWS } from '../../lib/offline/request-scope.ts';
import { committedSeqs } from '../../lib/offline/seq-pins.ts';
import { sortedCopiesDir } from '../../lib/offline/sorted-copy.ts';
import type { TrainingSetOptions } from '../../lib/offline/training-set.ts';
import { fixtureDryRun, parquetFilesIn } from '../helpers/fixture-dry-run.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { seededRandom as random } from '../helpers/seeded-random.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const shop = defineEntity({ name: 'shop', joinKeys: [{ name: 'shop_id', type: 'int64' }] });
const scores = defineSource({
  name: 'scores',
  schema: { customer_id: 'string', shop_id: 'int64', score: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const orders = defineSource({
  name: 'orders',
  schema: {
    customer_id: 'string',
    amount: 'float64',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const latestScore = defineFeatureView({
  name: 'latest_score',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
  ttl: '10d',
});
// Keys other than the copy's order (customer, shop): still exact, only not pre-sorted.
const shopScore = defineFeatureView({
  name: 'shop_score',
  entities: [customer, shop],
  source: scores,
  features: { score: 'int64' },
});
const latestOrder = defineFeatureView({
  name: 'latest_order',
  entities: [customer],
  source: orders,
  features: { amount: 'float64' },
  ttl: '20d',
});
const definitions = [customer, shop, scores, orders, latestScore, shopScore, latestOrder];
const request = {
  features: ['latest_score:score', 'shop_score:score', 'latest_order:amount'],
};

const day0 = Date.parse('2026-01-01T00:00:00Z');
// Times on a coarse grid (hours over 60 days), so rows tie on keys and event time.
const at = (next: () => number) =>
  new Date(day0 + Math.floor(next() * 60 * 24) * 3_600_000).toISOString();
const customerOf = (next: () => number) => `C${Math.floor(next() * 30)}`;

function scoreRows(seed: number, count: number) {
  const next = random(seed);
  return Array.from({ length: count }, () => ({
    customer_id: customerOf(next),
    shop_id: Math.floor(next() * 3),
    score: Math.floor(next() * 1000),
    event_ts: at(next),
  }));
}
function orderRows(seed: number, count: number) {
  const next = random(seed);
  return Array.from({ length: count }, () => ({
    customer_id: customerOf(next),
    amount: Math.round(next() * 10_000) / 100,
    event_ts: at(next),
    // Ties on event time broken by created time, some created times missing (NULL first).
    created_ts: next() < 0.2 ? null : at(next),
  }));
}
/** More rows than KEY_LIST_MAX_ROWS (a large request), some keys unknown or NULL. */
function entityRows(seed: number) {
  const next = random(seed);
  return Array.from({ length: KEY_LIST_MAX_ROWS + 200 }, (_, i) => ({
    customer_id: i % 97 === 0 ? null : next() < 0.05 ? 'UNKNOWN' : customerOf(next),
    shop_id: Math.floor(next() * 3),
    event_timestamp: at(next),
  }));
}

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;

async function copyFiles(fixture: Fixture, source: string): Promise<string[]> {
  const dir = sortedCopiesDir(offlineRoot(fixture.dataDir, 'local'), source);
  return (await readdir(dir).catch(() => [] as string[])).filter(
    (n) => n.endsWith('.parquet') && !n.endsWith('.keys.parquet'),
  );
}

/** Pins of both sources at their latest committed rows, as a snapshot taken now records them. */
async function pinsOfNow(fixture: Fixture) {
  const records = (await readManifest(offlineRoot(fixture.dataDir, 'local'))) ?? [];
  return new Map(
    [...committedSeqs(records, ['scores', 'orders'])].map(([source, seqs]) => [
      source,
      seqs.maxSeq,
    ]),
  );
}

/**
 * The training set twice: as the store is (sorted copies there), and with the copies moved
 * aside (the sources' files alone); the copies are put back after.
 */
async function withAndWithoutCopies(
  fixture: Fixture,
  entities: readonly Record<string, unknown>[],
  options: Partial<TrainingSetOptions> = {},
) {
  const root = offlineRoot(fixture.dataDir, 'local');
  const withCopies = await fixture.trainingSet(entities, {
    request,
    fullFeatureNames: true,
    ...options,
  });
  const aside = path.join(fixture.dataDir, 'copies-aside');
  await cp(path.join(root, '_sorted_copies'), aside, { recursive: true, preserveTimestamps: true });
  await rm(path.join(root, '_sorted_copies'), { recursive: true });
  const withoutCopies = await fixture.trainingSet(entities, {
    request,
    fullFeatureNames: true,
    ...options,
  });
  await cp(aside, path.join(root, '_sorted_copies'), { recursive: true, preserveTimestamps: true });
  await rm(aside, { recursive: true });
  return { withCopies, withoutCopies };
}

describe.each(['asof', 'merge-window'] as const)(
  'a large training set reads each source sorted copy (%s strategy)',
  (strategy) => {
    it('gives the rows the source files give: ties by fstore_seq and created time, TTLs, NULL and unknown keys, a view on other keys', async () => {
      const fixture = await offlineFixture(definitions, strategy);
      const first = await fixture.ingest('scores', scoreRows(1, 2_000));
      await fixture.ingest('orders', orderRows(2, 2_000));
      expect(first.sortedCopyWritten).toBe(true);
      // A second ingest as large as the first: the copy is written again, holding both.
      const second = await fixture.ingest('scores', scoreRows(3, 2_000));
      expect(second.sortedCopyWritten).toBe(true);
      expect(await copyFiles(fixture, 'scores')).toHaveLength(2); // the new one, and the one before

      const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entityRows(4));
      expect(withCopies.sql).toContain('_sorted_copies');
      expect(withoutCopies.sql).not.toContain('_sorted_copies');
      expect(withCopies.records).toEqual(withoutCopies.records);
      expect(withCopies.matchRates).toEqual(withoutCopies.matchRates);
      expect(withCopies.matchRates.every((m) => m.matched > 100)).toBe(true);
    });
  },
);

describe('sorted copies', () => {
  it('reads rows committed after the copy beside it (a later tie wins) until they pass an eighth of its bytes', async () => {
    const fixture = await offlineFixture(definitions);
    const rows = scoreRows(5, 3_000);
    await fixture.ingest('scores', rows);
    await fixture.ingest('orders', orderRows(6, 500));
    const [copy] = await copyFiles(fixture, 'scores');
    // Same keys and event time as a stored row, ingested later: its score must win.
    const tied = { ...(rows[0] as (typeof rows)[number]), score: 999_999 };
    const small = await fixture.ingest('scores', [tied]);
    expect(small.sortedCopyWritten).toBe(false);
    expect(await copyFiles(fixture, 'scores')).toEqual([copy]);

    const entities = [
      ...entityRows(7),
      { customer_id: tied.customer_id, shop_id: tied.shop_id, event_timestamp: tied.event_ts },
    ];
    const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entities);
    expect(withCopies.sql).toContain(copy);
    expect(withCopies.sql).toContain(small.files[0]);
    expect(withCopies.records).toEqual(withoutCopies.records);
    expect(withCopies.records?.at(-1)?.latest_score__score).toBe(999_999);

    const large = await fixture.ingest('scores', scoreRows(8, 1_000));
    expect(large.sortedCopyWritten).toBe(true);
  });

  it('numbers the keys of rows committed after the copy too: a key only they hold is found', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('scores', scoreRows(5, 3_000));
    await fixture.ingest('orders', orderRows(6, 500));
    const newcomer = {
      customer_id: 'NEWCOMER',
      shop_id: 1,
      score: 424_242,
      event_ts: new Date(day0 + 86_400_000).toISOString(),
    };
    const small = await fixture.ingest('scores', [newcomer]);
    expect(small.sortedCopyWritten).toBe(false);
    const entities = [
      ...entityRows(7),
      {
        customer_id: 'NEWCOMER',
        shop_id: 1,
        event_timestamp: new Date(day0 + 2 * 86_400_000).toISOString(),
      },
    ];
    const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entities);
    expect(withCopies.sql).toContain('.keys.parquet');
    expect(withCopies.sql).toContain(small.files[0]);
    expect(withCopies.records).toEqual(withoutCopies.records);
    expect(withCopies.records?.at(-1)?.latest_score__score).toBe(424_242);
  });

  it('joins on the keys, not the dictionary, when the request asks for under half of its keys', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('scores', scoreRows(5, 3_000));
    const [copy = 'no copy'] = await copyFiles(fixture, 'scores');
    const keys = copy.replace(/\.parquet$/, '.keys.parquet');
    const next = random(30);
    const fewKeys = Array.from({ length: KEY_LIST_MAX_ROWS + 200 }, () => ({
      customer_id: next() < 0.5 ? 'C1' : 'C2',
      shop_id: 1,
      event_timestamp: at(next),
    }));
    const options = { request: { features: ['shop_score:score'] } };
    const few = await withAndWithoutCopies(fixture, fewKeys, options);
    expect(few.withCopies.sql).toContain(copy);
    expect(few.withCopies.sql).not.toContain(keys);
    expect(few.withCopies.records).toEqual(few.withoutCopies.records);
    const many = await withAndWithoutCopies(fixture, entityRows(7), options);
    expect(many.withCopies.sql).toContain(keys);
    expect(many.withCopies.records).toEqual(many.withoutCopies.records);
  });

  it('leaves out the partition filter on a copy when the request reaches every day it holds, and keeps it when not', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('scores', scoreRows(5, 3_000)); // hours over days 0-59
    const options = { request: { features: ['latest_score:score'] } };
    const between = (firstDay: number, days: number) => {
      const next = random(31);
      return Array.from({ length: KEY_LIST_MAX_ROWS + 200 }, () => ({
        customer_id: customerOf(next),
        shop_id: 1,
        event_timestamp: new Date(
          day0 + (firstDay + Math.floor(next() * days * 24) / 24) * 86_400_000,
        ).toISOString(),
      }));
    };
    const dtFilter = /"dt" >= '/;
    const all = await withAndWithoutCopies(fixture, between(0, 61), options);
    expect(all.withCopies.sql).toContain('_sorted_copies');
    expect(all.withCopies.sql).not.toMatch(dtFilter);
    expect(all.withoutCopies.sql).toMatch(dtFilter);
    expect(all.withCopies.records).toEqual(all.withoutCopies.records);
    // Days 20-50 less the 10-day TTL: most of the copy's days, not all of them.
    const some = await withAndWithoutCopies(fixture, between(20, 30), options);
    expect(some.withCopies.sql).toContain('_sorted_copies');
    expect(some.withCopies.sql).toMatch(dtFilter);
    expect(some.withCopies.records).toEqual(some.withoutCopies.records);
  });

  it('reads a copy whose key dictionary is gone on its keys, and the next ingest writes both again', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('scores', scoreRows(5, 3_000));
    await fixture.ingest('orders', orderRows(6, 500));
    const dir = sortedCopiesDir(offlineRoot(fixture.dataDir, 'local'), 'scores');
    const [copy = 'no copy'] = await copyFiles(fixture, 'scores');
    const keys = path.join(dir, copy.replace(/\.parquet$/, '.keys.parquet'));
    expect(existsSync(keys)).toBe(true);
    await rm(keys);

    const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entityRows(7));
    expect(withCopies.sql).toContain(copy);
    expect(withCopies.sql).not.toContain(keys);
    expect(withCopies.records).toEqual(withoutCopies.records);
    // A copy without its dictionary is not kept: an ingest far below the tail share writes it.
    const next = await fixture.ingest('scores', scoreRows(8, 5));
    expect(next.sortedCopyWritten).toBe(true);
    const [written = 'no copy'] = (await copyFiles(fixture, 'scores')).filter((n) => n !== copy);
    expect(existsSync(path.join(dir, written.replace(/\.parquet$/, '.keys.parquet')))).toBe(true);
  });

  it('does not read a copy holding a file that is no longer committed (compacted away)', async () => {
    const fixture = await offlineFixture(definitions);
    for (const seed of [9, 10, 11]) await fixture.ingest('scores', scoreRows(seed, 300));
    await fixture.ingest('orders', orderRows(12, 300));
    const root = offlineRoot(fixture.dataDir, 'local');
    const dir = sortedCopiesDir(root, 'scores');
    const before = await copyFiles(fixture, 'scores');
    const stale = path.join(fixture.dataDir, 'stale.parquet');
    await cp(path.join(dir, before[0] ?? ''), stale);

    const compacted = await compactStore({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
    });
    expect(compacted.sortedCopies).toContain('scores');
    // The stale copy put back as the only, newest one: it names files the compaction replaced.
    for (const name of await copyFiles(fixture, 'scores')) await rm(path.join(dir, name));
    const back = path.join(dir, before[0] ?? '');
    await cp(stale, back);
    const later = new Date(Date.now() + 60_000);
    await utimes(back, later, later);

    const result = await fixture.trainingSet(entityRows(13), { request, fullFeatureNames: true });
    expect(result.sql).not.toContain('_sorted_copies/scores');
    const { withCopies, withoutCopies } = await withAndWithoutCopies(fixture, entityRows(13));
    expect(withCopies.records).toEqual(withoutCopies.records);
  });

  it('keeps rows above a pin out of a pinned read of the copy', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('scores', scoreRows(14, 2_000));
    await fixture.ingest('orders', orderRows(15, 2_000));
    const pins = await pinsOfNow(fixture);
    // Rows tying and beating the pinned ones, in an ingest large enough to be in the copy.
    await fixture.ingest(
      'scores',
      scoreRows(14, 2_000).map((r) => ({ ...r, score: -r.score })),
    );
    expect((await copyFiles(fixture, 'scores')).length).toBeGreaterThan(0);
    const entities = entityRows(16);
    const pinned = await withAndWithoutCopies(fixture, entities, { pins });
    expect(pinned.withCopies.sql).toContain('_sorted_copies');
    expect(pinned.withCopies.records).toEqual(pinned.withoutCopies.records);
    const scoresSeen = pinned.withCopies.records?.map((r) => r.latest_score__score);
    expect(scoresSeen?.some((s) => typeof s === 'bigint' && s < 0n)).toBe(false);
  });

  it('reads a copy within the pin with no fstore_seq filter and leaves out tail files above it', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('scores', scoreRows(14, 3_000));
    await fixture.ingest('orders', orderRows(15, 2_000));
    const pins = await pinsOfNow(fixture);
    // A small ingest after the pin, of a key the pinned rows do not hold: it stays in the tail.
    const later = await fixture.ingest(
      'scores',
      scoreRows(14, 50).map((r) => ({
        ...r,
        customer_id: 'LATER',
        event_ts: new Date(day0 + 58 * 86_400_000).toISOString(),
      })),
    );
    expect(later.sortedCopyWritten).toBe(false);
    const entities = [
      ...entityRows(16),
      {
        customer_id: 'LATER',
        shop_id: 1,
        event_timestamp: new Date(day0 + 59 * 86_400_000).toISOString(),
      },
    ];
    const pinned = await withAndWithoutCopies(fixture, entities, { pins });
    expect(pinned.withCopies.sql).toContain('_sorted_copies');
    // The later file is read for its columns alone (the newest ingest's), not its rows.
    const laterFile = later.files[0] ?? 'no file';
    const reads = pinned.withCopies.sql.split(laterFile).length - 1;
    const forColumns = pinned.withCopies.sql.match(
      new RegExp(
        `read_parquet\\(\\['${laterFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'\\][^)]*\\) WHERE FALSE`,
        'g',
      ),
    );
    expect(reads).toBeGreaterThan(0);
    expect(forColumns?.length).toBe(reads);
    expect(pinned.withCopies.sql).not.toContain('"fstore_seq" <=');
    expect(pinned.withCopies.records).toEqual(pinned.withoutCopies.records);
    expect(pinned.withCopies.records?.at(-1)?.latest_score__score).toBeNull();
    // Unpinned, the tail is read: LATER's row is there.
    const latest = await withAndWithoutCopies(fixture, entities);
    expect(latest.withCopies.sql).toContain(later.files[0]);
    expect(latest.withCopies.records).toEqual(latest.withoutCopies.records);
    expect(latest.withCopies.records?.at(-1)?.latest_score__score).not.toBeNull();
  });

  it('reads as of a pin the copy from before a later ingest rewrote it, whole and unfiltered, while it is kept', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('scores', scoreRows(14, 3_000));
    await fixture.ingest('orders', orderRows(15, 2_000));
    const [before = 'no copy'] = await copyFiles(fixture, 'scores');
    const pins = await pinsOfNow(fixture);
    const later = await fixture.ingest(
      'scores',
      scoreRows(40, 1_000).map((r) => ({ ...r, score: -r.score })),
    );
    expect(later.sortedCopyWritten).toBe(true);
    expect(await copyFiles(fixture, 'scores')).toContain(before);
    const entities = entityRows(16);
    const pinned = await withAndWithoutCopies(fixture, entities, { pins });
    expect(pinned.withCopies.sql).toContain(before);
    expect(pinned.withCopies.sql).not.toContain('"fstore_seq" <=');
    expect(pinned.withCopies.records).toEqual(pinned.withoutCopies.records);
    const latest = await withAndWithoutCopies(fixture, entities);
    expect(latest.withCopies.sql).not.toContain(before);
    expect(latest.withCopies.records).toEqual(latest.withoutCopies.records);
  });

  it('is not read by a small request, which reads only its keys of the days it reaches', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('scores', scoreRows(17, 1_000));
    await fixture.ingest('orders', orderRows(18, 1_000));
    const small = entityRows(19).slice(0, KEY_LIST_MAX_ROWS);
    const result = await fixture.trainingSet(small, { request, fullFeatureNames: true });
    expect(result.sql).not.toContain('_sorted_copies');
  });

  it('leaves the ingest committed and no copy when the ingest is stopped while the copy is written', async () => {
    const fixture = await offlineFixture(definitions);
    const stop = new AbortController();
    const { ingestFile } = await import('../../lib/offline/ingest.ts');
    const result = await ingestFile({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      source: 'scores',
      file: await fixture.writeJsonl(scoreRows(20, 500)),
      signal: stop.signal,
      onPhase: (phase) => {
        if (phase === 'sorting') stop.abort(new Error('SIGTERM'));
      },
    });
    expect(result.rows).toBe(500);
    expect(result.sortedCopyWritten).toBe(false);
    expect(result.warnings.join('\n')).toContain('the sorted copy of "scores" was not written');
    const dir = sortedCopiesDir(offlineRoot(fixture.dataDir, 'local'), 'scores');
    expect(existsSync(dir) ? await readdir(dir) : []).toEqual([]);
    const read = await fixture.trainingSet(entityRows(21), {
      request: { features: ['latest_score:score'] },
    });
    expect(read.sql).not.toContain('_sorted_copies');
    expect(read.rows).toBe(KEY_LIST_MAX_ROWS + 200);
  });

  it('is what the local dry run lists: the copy, its dictionary when the run joins by number, and the files committed after it, the files the run reads', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('scores', scoreRows(22, 2_000));
    const tail = await fixture.ingest('scores', scoreRows(23, 1));
    expect(tail.sortedCopyWritten).toBe(false);
    const entities = entityRows(24);
    const [copy] = await copyFiles(fixture, 'scores');
    const copyFile = path.join(
      sortedCopiesDir(offlineRoot(fixture.dataDir, 'local'), 'scores'),
      copy ?? '',
    );
    const keysFile = copyFile.replace(/\.parquet$/, '.keys.parquet');
    // shop_score joins on the copy's keys (customer, shop), so the run numbers them from the
    // dictionary; latest_score joins on the customer alone, read on its keys.
    for (const [feature, dictionary] of [
      ['shop_score:score', [keysFile]],
      ['latest_score:score', []],
    ] as const) {
      const features = [feature];
      const estimate = await fixtureDryRun(fixture, entities, { features });
      const [scanned] = estimate.sources;
      expect(scanned?.sortedCopy).toBe(copyFile);
      const listed = scanned?.files.map((f) => f.path) ?? [];
      expect(listed).toEqual([copyFile, ...dictionary, ...[...tail.files].sort()]);
      const run = await fixture.trainingSet(entities, { request: { features } });
      expect(parquetFilesIn(run.sql)).toEqual([...listed].sort());
    }
  });
});
