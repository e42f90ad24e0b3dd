import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { contentHashOf } from '../../lib/offline/canonical-rows.ts';
import { compactStore } from '../../lib/offline/compact.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { type IngestRecord, readManifest } from '../../lib/offline/ingest-manifest.ts';
import { narrowToLatestRowDays } from '../../lib/offline/latest-row-days.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import {
  committedSourceFiles,
  KEY_LIST_MAX_ROWS,
  scopedDuckdbDialect,
} from '../../lib/offline/request-scope.ts';
import { exactPins, type RecordedPin, seqToJson } from '../../lib/offline/seq-pins.ts';
import { createSnapshot } from '../../lib/offline/snapshots.ts';
import { getTrainingSet } from '../../lib/offline/training-set.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { planPointInTime } from '../../lib/sql/point-in-time-plan.ts';
import { customer, scores } from '../helpers/customer-scores.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const latestScore = defineFeatureView({
  name: 'latest_score',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
  ttl: '30d',
});
const request = { features: ['latest_score:score'] };
const row = (customer_id: string, event_ts: string, score: number) => ({
  customer_id,
  event_ts,
  score,
});
const at = '2026-03-10T00:00:00Z';
const fewRows = ['A', 'B', 'C', 'D'].map((id) => ({ customer_id: id, event_timestamp: at }));
const manyRows = Array.from({ length: KEY_LIST_MAX_ROWS + 1 }, (_, i) => ({
  customer_id: ['A', 'B', 'C', 'D'][i % 4] ?? 'A',
  event_timestamp: at,
}));

/**
 * A store read as of a snapshot after it changed: the snapshot pins the first ingest; a second
 * ingest adds rows on a day of the first (and a later day) and a compaction merges that day's
 * files; a third ingest adds a later winner and an event-time tie.
 */
async function changedSinceSnapshot() {
  const fixture = await offlineFixture([latestScore]);
  await fixture.ingest('scores', [
    row('A', '2026-03-01T12:00:00Z', 1),
    row('B', '2026-03-02T12:00:00Z', 2),
    row('C', '2026-03-05T12:00:00Z', 3),
  ]);
  const snapshot = await createSnapshot(fixture.dataDir, 'local', {
    name: 'before_later',
    sources: ['scores'],
  });
  const before = async (entities: readonly Record<string, unknown>[], name: string) => {
    const out = path.join(fixture.dataDir, `${name}.parquet`);
    await fixture.trainingSet(entities, { request, out });
    return contentHashOf(out);
  };
  const beforeFew = await before(fewRows, 'before-few');
  const beforeMany = await before(manyRows, 'before-many');
  await fixture.ingest('scores', [
    row('A', '2026-03-02T18:00:00Z', 20),
    row('D', '2026-03-06T12:00:00Z', 40),
  ]);
  const compacted = await compactStore({
    registry: fixture.registry,
    dataDir: fixture.dataDir,
    env: 'local',
    keepReplacedMs: 0,
  });
  expect(compacted.sources[0]?.filesAfter).toBeLessThan(compacted.sources[0]?.filesBefore ?? 0);
  await fixture.ingest('scores', [
    row('A', '2026-03-08T12:00:00Z', 80),
    row('B', '2026-03-02T12:00:00Z', 22),
  ]);
  const root = offlineRoot(fixture.dataDir, 'local');
  const records = (await readManifest(root)) ?? [];
  const asOf = async (
    recorded: Readonly<Record<string, RecordedPin>>,
    entities: readonly Record<string, unknown>[],
    name: string,
  ) => {
    const out = path.join(fixture.dataDir, `${name}.parquet`);
    await fixture.trainingSet(entities, { request, out, pins: exactPins(recorded, records) });
    return contentHashOf(out);
  };
  return { fixture, root, snapshot, records, beforeFew, beforeMany, asOf };
}

/** Each scan of a source relation: the files it names and whether it filters by `fstore_seq`. */
function scansOf(relation: string) {
  return relation.split(' UNION ALL BY NAME ').map((scan) => ({
    files: [...scan.matchAll(/'([^']+\.parquet)'/g)].map((m) => m[1]),
    filtered: scan.includes('"fstore_seq"'),
    schemaOnly: scan.includes('WHERE FALSE'),
  }));
}

const lastSeq = (record: IngestRecord | undefined) =>
  BigInt(record?.firstSeq ?? 0) + BigInt(record?.rows ?? 0) - 1n;

describe('a training set as of a snapshot, reading only the files the pin reaches', () => {
  it('gives the rows it gave before later ingests and a compaction (same content hash), few and many entity rows', async () => {
    const store = await changedSinceSnapshot();
    expect(await store.asOf(store.snapshot.sources, fewRows, 'pinned-few')).toBe(store.beforeFew);
    expect(await store.asOf(store.snapshot.sources, manyRows, 'pinned-many')).toBe(
      store.beforeMany,
    );
    const latest = path.join(store.fixture.dataDir, 'latest.parquet');
    await store.fixture.trainingSet(manyRows, { request, out: latest });
    expect(await contentHashOf(latest)).not.toBe(store.beforeMany);
  });

  it('gives the same rows when an ingest below the pin committed after it (an exact pin leaves it out)', async () => {
    const store = await changedSinceSnapshot();
    const [first, second] = store.records;
    // As if the second ingest had taken its numbers before the snapshot and committed after it.
    const recorded = {
      scores: { maxSeq: seqToJson(lastSeq(second)), ingestIds: [first?.ingestId ?? ''] },
    };
    expect(await store.asOf(recorded, fewRows, 'late-few')).toBe(store.beforeFew);
    expect(await store.asOf(recorded, manyRows, 'late-many')).toBe(store.beforeMany);
  });

  it('names no file of a later ingest, filters only the compacted file and reads the others whole', async () => {
    const store = await changedSinceSnapshot();
    const [first, second, third] = store.records;
    const committed = committedSourceFiles(store.root, 'scores');
    const plan = planPointInTime(store.fixture.registry, request, {
      entityTimestampColumn: 'event_timestamp',
    });
    const pins = exactPins(store.snapshot.sources, store.records);
    const relation = scopedDuckdbDialect(duckdbDialect(store.root), store.root, plan, {
      sourceDays: new Map(),
      committed: new Map([['scores', committed]]),
      pins,
    }).sourceRelation('scores');
    const scans = scansOf(relation).filter((scan) => !scan.schemaOnly);
    const absolute = (files: readonly string[] | undefined) =>
      (files ?? []).map((f) => path.join(store.root, f));
    // The compaction's merged file holds rows of the first and the second ingest.
    const compacted = absolute(first?.files).filter((f) => absolute(second?.files).includes(f));
    expect(compacted).toHaveLength(1);
    const read = scans.flatMap((scan) => scan.files);
    for (const file of absolute(third?.files)) expect(read).not.toContain(file);
    expect(scans.filter((s) => s.filtered).flatMap((s) => s.files)).toEqual(compacted);
    expect(
      scans
        .filter((s) => !s.filtered)
        .flatMap((s) => s.files)
        .sort(),
    ).toEqual(
      absolute(first?.files)
        .filter((f) => !compacted.includes(f))
        .sort(),
    );
  });

  it('has the columns the source gained after the pin, empty (the ingest that added them is not read)', async () => {
    const fixture = await offlineFixture([latestScore]);
    await fixture.ingest('scores', [row('A', '2026-03-01T12:00:00Z', 1)]);
    const snapshot = await createSnapshot(fixture.dataDir, 'local', {
      name: 'before_grades',
      sources: ['scores'],
    });
    const widened = defineSource({
      name: 'scores',
      schema: { customer_id: 'string', score: 'int64', grade: 'string', event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    const graded = defineFeatureView({
      name: 'latest_score',
      entities: [customer],
      source: widened,
      features: { score: 'int64', grade: 'string' },
      ttl: '30d',
    });
    const local = {
      registry: compileRegistry([{ definition: graded }]),
      dataDir: fixture.dataDir,
      env: 'local',
    };
    await ingestFile({
      ...local,
      source: 'scores',
      file: await fixture.writeJsonl([{ ...row('A', '2026-03-08T12:00:00Z', 8), grade: 'b' }]),
    });
    const records = (await readManifest(offlineRoot(fixture.dataDir, 'local'))) ?? [];
    for (const entities of [fewRows, manyRows]) {
      const result = await getTrainingSet({
        ...local,
        entities: await fixture.writeJsonl(entities),
        request: { features: ['latest_score:score', 'latest_score:grade'] },
        pins: exactPins(snapshot.sources, records),
      });
      expect(result.records?.[0]).toMatchObject({ customer_id: 'A', score: 1, grade: null });
    }
  });

  it('searches no file of a later ingest for the latest row of a small request', async () => {
    const store = await changedSinceSnapshot();
    const third = store.records[2];
    const plan = planPointInTime(store.fixture.registry, request, {
      entityTimestampColumn: 'event_timestamp',
    });
    const day = (iso: string) => Math.floor(Date.parse(iso) / 86_400_000);
    const window = {
      from: day(at) - 30,
      to: day(at),
      keys: new Map([['customer_id', "CAST('A' AS VARCHAR)"]]),
      values: new Map([['customer_id', 'A']]),
      earliestMicros: BigInt(Date.parse(at)) * 1000n,
    };
    const session = await openDuckdb();
    const statements: string[] = [];
    const connection = new Proxy(session.connection, {
      get(target, name, receiver) {
        if (name === 'run')
          return (sql: string) => {
            statements.push(sql);
            return target.run(sql);
          };
        const value = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    try {
      await narrowToLatestRowDays(connection, store.root, plan, {
        sourceDays: new Map([['scores', [{ from: window.from, to: window.to }]]]),
        keyedWindows: new Map([['scores', [window]]]),
        pins: exactPins(store.snapshot.sources, store.records),
      });
    } finally {
      session.close();
    }
    expect(statements.join('\n')).toContain('fstore_found_');
    for (const file of third?.files ?? [])
      expect(statements.join('\n')).not.toContain(path.join(store.root, file));
  });
});
