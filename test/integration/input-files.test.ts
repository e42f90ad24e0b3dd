import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { getTrainingSet, type TrainingSetOptions } from '../../lib/offline/training-set.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const store = defineEntity({ name: 'store', joinKeys: [{ name: 'store_id', type: 'int64' }] });
const sales = defineSource({
  name: 'sales',
  schema: { store_id: 'int64', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const lastSale = defineFeatureView({
  name: 'last_sale',
  entities: [store],
  source: sales,
  features: { amount: 'float64' },
});
const saleTotals = defineAggregationView({
  name: 'sale_totals',
  entities: [store],
  source: sales,
  aggregations: { amount: { functions: ['sum', 'count', 'last'], windows: ['1d', '7d'] } },
});

const services = {
  'point-in-time': { features: ['last_sale:amount'] },
  aggregation: { features: ['sale_totals:*'] },
} as const;

/** Engine internals an input-file error must not show. */
const engineText =
  /Binder Error|Parser Error|Invalid Input Error|Conversion Error|SELECT|read_csv|read_json|read_parquet/;

let fixture: Awaited<ReturnType<typeof offlineFixture>>;
let fileCount = 0;

beforeAll(async () => {
  fixture = await offlineFixture([lastSale, saleTotals]);
  await fixture.ingest('sales', [
    { store_id: 1, amount: 10, event_ts: '2026-03-01T10:00:00Z' },
    { store_id: 2, amount: 20, event_ts: '2026-03-01T11:00:00Z' },
  ]);
});

/** Writes `content` as a new file with that extension; `parquet` content is a DuckDB query. */
async function inputFile(extension: 'csv' | 'jsonl' | 'parquet', content: string) {
  const file = path.join(fixture.dataDir, `input-file-${fileCount++}.${extension}`);
  if (extension !== 'parquet') {
    await writeFile(file, content);
    return file;
  }
  const session = await openDuckdb();
  try {
    await session.connection.run(`COPY (${content}) TO '${file}' (FORMAT parquet)`);
  } finally {
    session.close();
  }
  return file;
}

function trainingSet(entities: string, options: Partial<TrainingSetOptions> = {}) {
  return getTrainingSet({
    registry: fixture.registry,
    dataDir: fixture.dataDir,
    env: 'local',
    request: services['point-in-time'],
    entities,
    ...options,
  });
}

function ingest(file: string) {
  return ingestFile({
    registry: fixture.registry,
    dataDir: fixture.dataDir,
    env: 'local',
    source: 'sales',
    file,
    allowConstraintViolations: true,
  });
}

/** The error `promise` rejects with, checked to name the file and to show no engine internals. */
async function clearError(promise: Promise<unknown>, file: string): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error & { hint?: string },
  );
  expect(error, 'expected an error').toBeInstanceOf(Error);
  const text = `${error?.message}\n${error?.hint ?? ''}`;
  expect(text).toContain(path.basename(file));
  expect(text).not.toMatch(engineText);
  expect(error?.hint ?? '').not.toBe('');
  return text;
}

describe('entity files whose columns carry fstore internal names', () => {
  /** Every fstore_ name the training-set SQL of both services uses, on every strategy. */
  let internalNames: string[];
  beforeAll(async () => {
    const entities = await inputFile('csv', 'store_id,event_timestamp\n1,2026-03-01T12:00:00Z\n');
    const names = new Set<string>();
    for (const request of Object.values(services))
      for (const options of [
        { strategy: 'asof' as const },
        { strategy: 'merge-window' as const },
        { strategy: 'asof' as const, aggregations: 'running-totals' as const },
      ]) {
        const { sql } = await trainingSet(entities, { request, ...options });
        for (const match of sql.matchAll(/fstore_[a-z0-9_]+/g)) names.add(match[0]);
      }
    internalNames = [...names].sort();
  });

  it('finds the internal names of the generated SQL to test', () => {
    expect(internalNames).toEqual(
      // The fixture's sources have no ties: the ASOF join compares fstore_event_ts alone.
      expect.arrayContaining(['fstore_row_id', 'fstore_event_ts', 'fstore_seq', 'fstore_match_0']),
    );
  });

  describe.each(Object.entries(services))('%s service', (_, request) => {
    it.each(['csv', 'parquet'] as const)(
      'refuses a %s entity file with any such column, naming the file, the column and the fix',
      async (format) => {
        for (const name of [...internalNames, 'FSTORE_ROW_ID']) {
          const file =
            format === 'csv'
              ? await inputFile(
                  'csv',
                  `store_id,event_timestamp,${name}\n2,2026-03-01T12:00:00Z,1\n1,2026-03-01T12:00:00Z,0\n`,
                )
              : await inputFile(
                  'parquet',
                  `SELECT * FROM (VALUES (2, '2026-03-01T12:00:00Z', 1), (1, '2026-03-01T12:00:00Z', 0)) t(store_id, event_timestamp, "${name}")`,
                );
          const text = await clearError(trainingSet(file, { request }), file);
          expect(text).toContain(`"${name}"`);
          expect(text).toMatch(/reserved/);
          expect(text).toMatch(/rename the column/);
        }
      },
    );

    it('keeps a column that only looks internal as the entity file has it, rows in file order', async () => {
      const file = await inputFile(
        'csv',
        'store_id,event_timestamp,row_id,fstore\n2,2026-03-01T12:00:00Z,9,a\n1,2026-03-01T12:00:00Z,8,b\n2,2026-03-01T12:00:00Z,7,c\n',
      );
      const { records } = await trainingSet(file, { request });
      expect(records?.map((r) => [r.store_id, r.row_id, r.fstore])).toEqual([
        [2, 9, 'a'],
        [1, 8, 'b'],
        [2, 7, 'c'],
      ]);
    });
  });
});

describe('ingest files whose columns carry fstore internal names', () => {
  it.each(['fstore_input_row', 'FSTORE_INPUT_ROW'])(
    'refuses a file with a column %s (its own row numbers), naming the file, the column and the fix',
    async (name) => {
      const file = await inputFile(
        'csv',
        `store_id,amount,event_ts,${name}\n1,5.5,2026-03-01T12:00:00Z,7\n`,
      );
      const text = await clearError(ingest(file), file);
      expect(text).toContain(`"${name}"`);
      expect(text).toMatch(/reserved/);
      expect(text).toMatch(/rename the column/);
    },
  );

  it('ignores other fstore_ columns it does not read, such as the fstore_seq of exported rows', async () => {
    const file = await inputFile(
      'csv',
      'store_id,amount,event_ts,fstore_seq\n3,5.5,2026-03-01T12:00:00Z,7\n',
    );
    expect((await ingest(file)).rows).toBe(1);
  });
});

describe('entity CSV columns whose type DuckDB guesses from the first rows', () => {
  it('keeps a label column whose later value does not fit the guessed type, as text', async () => {
    const rows = Array.from({ length: 30_000 }, () => '1,2026-03-01T12:00:00Z,1');
    const file = await inputFile(
      'csv',
      `store_id,event_timestamp,label\n${rows.join('\n')}\n2,2026-03-01T12:00:00Z,high\n`,
    );
    const { records, rows: count } = await trainingSet(file);
    expect(count).toBe(30_001);
    expect(records?.at(-1)).toMatchObject({ store_id: 2, label: 'high', amount: 20 });
    expect(records?.[0]).toMatchObject({ store_id: 1, label: '1', amount: 10 });
  });
});

describe.each([
  ['entity file', (file: string) => trainingSet(file)],
  ['ingest file', (file: string) => ingest(file)],
] as const)('errors reading an %s', (role, read) => {
  const header = role === 'entity file' ? 'store_id,event_timestamp' : 'store_id,amount,event_ts';
  const row = role === 'entity file' ? '1,2026-03-01T12:00:00Z' : '1,5.5,2026-03-01T12:00:00Z';
  const json = (id: unknown, ts: string) =>
    JSON.stringify(
      role === 'entity file'
        ? { store_id: id, event_timestamp: ts }
        : { store_id: id, amount: 5.5, event_ts: ts },
    );
  const tsColumn = role === 'entity file' ? 'event_timestamp' : 'event_ts';

  it.each([
    ['csv', `event_x,${header.split(',').slice(1).join(',')}\n${row}\n`],
    ['jsonl', `${json(1, '2026-03-01T12:00:00Z').replace('store_id', 'shop')}\n`],
    ['parquet', `SELECT 1 AS shop, TIMESTAMP '2026-03-01 12:00:00' AS ${tsColumn}, 5.5 AS amount`],
  ] as const)('names the missing join-key column of a %s file', async (format, content) => {
    const file = await inputFile(format, content);
    const text = await clearError(read(file), file);
    expect(text).toMatch(/has no column "store_id"/);
  });

  it('points at the line where a CSV file is cut short mid-row', async () => {
    const file = await inputFile('csv', `${header}\n${row}\n${row.slice(0, 1)}`);
    const text = await clearError(read(file), file);
    expect(text).toMatch(/line 3 has 1 field\(s\) where the header has \d/);
    expect(text).toMatch(/cut short/);
  });

  it('points at a CSV line with an extra field instead of reading the header as data', async () => {
    const file = await inputFile('csv', `${header}\n${row}\n${row},9\n${row}\n`);
    const text = await clearError(read(file), file);
    expect(text).toMatch(/line 3 has \d field\(s\) where the header has \d/);
    expect(text).toMatch(/quote values that contain the delimiter/);
  });

  it('points at a CSV line with a missing field', async () => {
    const file = await inputFile(
      'csv',
      `${header}\n${row}\n${row.split(',').slice(1).join(',')}\n${row}\n`,
    );
    const text = await clearError(read(file), file);
    expect(text).toMatch(/line 3 has \d field\(s\) where the header has \d \(a value is missing/);
  });

  it('points at the first line of a JSON-lines file that is not a JSON object', async () => {
    const file = await inputFile(
      'jsonl',
      `${json(1, '2026-03-01T12:00:00Z')}\n{"store_id": 2,\n${json(3, '2026-03-01T12:00:00Z')}\n`,
    );
    const text = await clearError(read(file), file);
    expect(text).toMatch(/line 2 is not a JSON object: "\{\\"store_id\\": 2,"/);
  });

  it('says a Parquet file of garbage bytes is not readable Parquet', async () => {
    const file = await inputFile('csv', 'PAR1 this is not parquet');
    const renamed = file.replace(/\.csv$/, '.parquet');
    await writeFile(renamed, await readFile(file));
    const text = await clearError(read(renamed), renamed);
    expect(text).toMatch(/is not a readable Parquet file/);
  });

  it('says a Parquet file cut short is not readable Parquet', async () => {
    const file = await inputFile(
      'parquet',
      `SELECT range AS store_id, 5.5 AS amount, TIMESTAMP '2026-03-01 12:00:00' AS ${tsColumn} FROM range(1000)`,
    );
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const text = await clearError(read(file), file);
    expect(text).toMatch(/is not a readable Parquet file/);
  });

  it.each(['csv', 'jsonl'] as const)('says an empty %s file is empty', async (format) => {
    const file = await inputFile(format, '');
    const text = await clearError(read(file), file);
    expect(text).toMatch(/is empty/);
  });

  it('says a CSV file with only a header has no rows', async () => {
    const file = await inputFile('csv', `${header}\n`);
    const text = await clearError(read(file), file);
    expect(text).toMatch(/has no rows/);
  });

  it.each(['csv', 'jsonl'] as const)(
    'names the row and column of a bad timestamp in a %s file',
    async (format) => {
      const file = await inputFile(
        format,
        format === 'csv'
          ? `${header}\n${row}\n${row.replace('2026-03-01T12:00:00Z', 'yesterday')}\n`
          : `${json(1, '2026-03-01T12:00:00Z')}\n${json(1, 'yesterday')}\n`,
      );
      const text = await clearError(read(file), file);
      expect(text).toContain(`row 2, column ${tsColumn}: "yesterday" is not a valid timestamp`);
    },
  );

  it.each(['csv', 'jsonl', 'parquet'] as const)(
    'names the row and column of a key that is not of the key type in a %s file',
    async (format) => {
      const content = {
        csv: `${header}\n${row}\nabc${row.slice(1)}\n`,
        jsonl: `${json(1, '2026-03-01T12:00:00Z')}\n${json('abc', '2026-03-01T12:00:00Z')}\n`,
        parquet: `SELECT * FROM (VALUES ('1', 5.5, TIMESTAMP '2026-03-01 12:00:00'), ('abc', 5.5, TIMESTAMP '2026-03-01 12:00:00')) t(store_id, amount, ${tsColumn})`,
      }[format];
      const file = await inputFile(format, content);
      const text = await clearError(read(file), file);
      expect(text).toContain('row 2, column store_id: "abc" is not a valid int64');
    },
  );
});
