import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Dialect } from '../sql/dialect.ts';
import { duckdbParquetFiles } from '../sql/duckdb-dialect.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';
import { renderRunningTotalsBuild, renderSumScalesQuery } from '../sql/render-running-totals.ts';
import {
  FullBuildRequired,
  layoutColumns,
  renderCarriedTotals,
  renderCombinedTotals,
  renderIncrementSource,
  renderIncrementStarts,
  renderKeptIncrementRows,
  renderKeyTotals,
  renderMergedTotals,
  renderSharedTimes,
  totalsLayout,
} from '../sql/render-running-totals-increment.ts';
import {
  keyIdColumn,
  keyIdRowsOf,
  renderKeyIds,
  renderTotalsWithKeyIds,
} from '../sql/render-running-totals-key-ids.ts';
import { queryRows } from './duckdb-session.ts';
import { parquetRows, stateMetadata, type TotalsState } from './running-totals-state.ts';
import {
  changedScale,
  mergedSumScales,
  mergeSumStatistics,
  type SumStatistics,
  sumStatistics,
} from './sum-scale-statistics.ts';

/**
 * Past this share of the base's rows an increment is not written: masking the base costs every
 * reader a join over the increment's keys, so a full build starts over with a new base.
 */
export const maxIncrementShare = 0.2;

export interface IncrementInput {
  readonly connection: DuckDBConnection;
  readonly dialect: Dialect;
  readonly view: PlannedView;
  /** The totals extended: a full build, or a base and its increment. */
  readonly previous: TotalsState;
  /** How `previous` is read (plain, or layered over its base). */
  readonly previousRelation: string;
  /** The base the new increment masks: `previous`'s base, or `previous` itself once linked. */
  readonly base: string;
  /** Stored files `previous` does not cover, and every stored file as state lines. */
  readonly newFiles: readonly string[];
  readonly covered: readonly string[];
  /** Where to write the increment (renamed into place by the caller). */
  readonly partial: string;
}

export interface Increment {
  /** Rows of the increment file (new totals rows plus the previous increment's kept ones). */
  readonly rows: number;
  readonly sumScales: ReadonlyMap<string, number>;
  /** Whether it read the source (new rows tie with stored ones), not only the new files. */
  readonly readSource: boolean;
}

const temp = {
  starts: 'fstore_increment_starts',
  added: 'fstore_increment_added',
  keyTotals: 'fstore_increment_key_totals',
  carried: 'fstore_increment_carried',
  rows: 'fstore_increment_rows',
  keyIds: 'fstore_increment_key_ids',
};

/**
 * Writes the increment that extends `previous` to the stored rows of `covered` (see
 * render-running-totals-increment.ts): the keys of the new rows, from their earliest new event,
 * rebuilt and added to the totals carried from before it. Throws FullBuildRequired, saying why,
 * when the result could differ from a full build or would grow past maxIncrementShare.
 */
export async function writeIncrement(input: IncrementInput): Promise<Increment> {
  const { connection, dialect, view, previous } = input;
  const layout = totalsLayout(view);
  const newRows = duckdbParquetFiles(input.newFiles);
  const statistics = await mergedStatistics(input, newRows);
  const sumScales = sumScalesWith(input, statistics);
  const table = async (name: string, sql: string) =>
    connection.run(`CREATE OR REPLACE TEMP TABLE ${name} AS ${sql}`);
  try {
    await table(temp.starts, renderIncrementStarts(view, dialect, newRows));
    const [first] = await queryRows(
      connection,
      `SELECT strftime(make_timestamp(min(fstore_from)), '%Y-%m-%dT%H:%M:%S.%fZ') AS earliest, count(*) FILTER (WHERE ${layout.keys.map((k) => `${dialect.quote(k)} IS NULL`).join(' OR ')}) AS null_keys FROM ${temp.starts}`,
    );
    if (typeof first?.earliest !== 'string')
      throw new FullBuildRequired('the new stored files hold no rows');
    await table(
      temp.added,
      renderRunningTotalsBuild(view, { ...dialect, sourceRelation: () => newRows }, sumScales),
    );
    const types = await sameColumnsAsBase(
      connection,
      `SELECT * FROM ${temp.added}`,
      `read_parquet(${dialect.literal(input.base)})`,
      layoutColumns(layout),
    );
    // The one read of the stored totals: every row of the keys with new rows.
    await table(
      temp.keyTotals,
      renderKeyTotals(layout, dialect, input.previousRelation, temp.starts),
    );
    await table(temp.carried, renderCarriedTotals(layout, dialect, temp.keyTotals, temp.starts));
    await refuseInexactStoredSums(connection, dialect, types);
    const [shared] = await queryRows(
      connection,
      renderSharedTimes(layout, dialect, temp.added, temp.keyTotals),
    );
    const readSource = Number(shared?.ties ?? 0) > 0 || Number(first.null_keys) > 0;
    const combined = !readSource
      ? renderMergedTotals(
          layout,
          dialect,
          temp.keyTotals,
          temp.carried,
          temp.added,
          temp.starts,
          types,
        )
      : renderCombinedTotals(
          layout,
          dialect,
          recomputedFromSource(input, sumScales, dialect.timestampLiteral(first.earliest)),
          temp.carried,
          types,
        );
    const kept = previous.base
      ? `\nUNION ALL BY NAME\n${renderKeptIncrementRows(layout, dialect, `read_parquet(${dialect.literal(previous.file)})`, temp.starts)}`
      : '';
    await table(temp.rows, `${combined}${kept}`);
    const [counted] = await queryRows(connection, `SELECT count(*) AS n FROM ${temp.rows}`);
    const rows = Number(counted?.n ?? 0);
    const baseRows = await parquetRows(connection, input.base);
    if (rows > maxIncrementShare * baseRows)
      throw new FullBuildRequired(
        `the increment would hold ${rows.toLocaleString('en-US')} rows, over ${maxIncrementShare * 100}% of the base's ${baseRows.toLocaleString('en-US')}`,
      );
    const columns = [...types.keys()].map(dialect.quote).join(', ');
    const metadata = stateMetadata({
      sumScales,
      covered: input.covered,
      statistics,
      base: path.basename(input.base),
    });
    // Keys of the previous totals keep their ids; keys first seen now get the next ones.
    const previousIds = keyIdRowsOf(
      layout.keys,
      dialect,
      `read_parquet(${dialect.literal(previous.file)})`,
    );
    await table(temp.keyIds, renderKeyIds(layout.keys, dialect, temp.starts, previousIds));
    const written = renderTotalsWithKeyIds(
      layout.keys,
      dialect,
      `(SELECT ${columns} FROM ${temp.rows})`,
      temp.keyIds,
    );
    await connection.run(
      `COPY (${written}) TO ${dialect.literal(input.partial)} (FORMAT parquet, COMPRESSION zstd, ${metadata})`,
    );
    return { rows, sumScales, readSource };
  } finally {
    for (const name of Object.values(temp)) await connection.run(`DROP TABLE IF EXISTS ${name}`);
  }
}

/**
 * A full build over the source rows of the keys with new rows from their `fstore_from` on: the
 * exact way when a new row ties with a stored one (same key and time), whose order only the
 * rows themselves (created time, fstore_seq) decide. It reads the whole source.
 */
function recomputedFromSource(
  input: IncrementInput,
  sumScales: ReadonlyMap<string, number>,
  earliest: string,
): string {
  const { dialect, view } = input;
  const source = renderIncrementSource(
    view,
    dialect,
    dialect.sourceRelation(view.source),
    temp.starts,
    earliest,
  );
  return renderRunningTotalsBuild(view, { ...dialect, sourceRelation: () => source }, sumScales);
}

/** The scales a full build over every stored row would choose: refused if they changed. */
function sumScalesWith(
  input: IncrementInput,
  statistics: SumStatistics,
): ReadonlyMap<string, number> {
  if (Object.keys(statistics).length === 0) return new Map();
  const scales = mergedSumScales(input.view, statistics);
  const changed = changedScale(input.previous.sumScales, scales);
  if (changed !== undefined)
    throw new FullBuildRequired(
      `the exact-sum scale of column ${changed} changes with the new rows`,
    );
  return scales;
}

/** The previous totals' sum-scale statistics merged with the new rows' ones. */
async function mergedStatistics(input: IncrementInput, newRows: string): Promise<SumStatistics> {
  const query = renderSumScalesQuery(input.view, {
    ...input.dialect,
    sourceRelation: () => newRows,
  });
  if (!query) return {};
  const [row] = await queryRows(input.connection, query);
  return mergeSumStatistics(input.previous.statistics ?? {}, sumStatistics(row ?? {}));
}

/** The type a Parquet file stores for a DuckDB type: 128-bit integers become DOUBLE. */
function storedAs(type: string): string {
  return type === 'HUGEINT' || type === 'UHUGEINT' ? 'DOUBLE' : type;
}

/**
 * The build's column types, name to SQL type, after checking that the build (renderRunningTotalsBuild
 * as it is now) writes exactly the columns the base has, with the same types, and the ones the
 * increment knows how to combine; and that no running sum is a double (only exact integer sums
 * add up to the same bits).
 */
async function sameColumnsAsBase(
  connection: DuckDBConnection,
  build: string,
  baseRelation: string,
  known: readonly string[],
): Promise<Map<string, string>> {
  const describe = async (sql: string) =>
    (await queryRows(connection, `DESCRIBE ${sql}`)).map(
      (r) => [String(r.column_name), String(r.column_type)] as const,
    );
  const built = await describe(build);
  const storedWithIds = await describe(`SELECT * FROM ${baseRelation}`);
  if (!storedWithIds.some(([name, type]) => name === keyIdColumn && type === 'BIGINT'))
    throw new FullBuildRequired(
      `the stored totals have no ${keyIdColumn} column (an older format)`,
    );
  const stored = storedWithIds.filter(([name]) => name !== keyIdColumn);
  const text = (columns: readonly (readonly [string, string])[]) =>
    columns.map(([name, type]) => `${name} ${type}`).join(', ');
  if (text(built.map(([name, type]) => [name, storedAs(type)])) !== text(stored))
    throw new FullBuildRequired(
      'the stored totals have other columns than this version builds (an older format)',
    );
  const types = new Map(built);
  const names = [...types.keys()];
  if (names.length !== known.length || !known.every((name) => types.has(name)))
    throw new FullBuildRequired(
      `the build writes columns the increment does not combine (${names.filter((n) => !known.includes(n)).join(', ') || 'some are missing'})`,
    );
  for (const [name, type] of types)
    if (name.startsWith('fstore_sum_') && (type === 'DOUBLE' || type === 'FLOAT'))
      throw new FullBuildRequired(
        `the running sum ${name} is a double sum, not an exact integer one (its values do not fit exact sums)`,
      );
  return types;
}

/**
 * Integer running sums are stored as DOUBLE (Parquet has no 128-bit integer): a stored one is
 * the exact sum only below 2^53, and only then does stored + recomputed give the full build's bits.
 */
async function refuseInexactStoredSums(
  connection: DuckDBConnection,
  dialect: Dialect,
  types: ReadonlyMap<string, string>,
): Promise<void> {
  const widened = [...types].filter(
    ([name, type]) => name.startsWith('fstore_sum_') && storedAs(type) !== type,
  );
  if (widened.length === 0) return;
  const checks = widened.map(
    ([name]) =>
      `coalesce(max(abs(${dialect.quote(name)})), 0) >= 9007199254740992 AS ${dialect.quote(name)}`,
  );
  const [row] = await queryRows(connection, `SELECT ${checks.join(', ')} FROM ${temp.keyTotals}`);
  const past = widened.find(([name]) => row?.[name] === true);
  if (past)
    throw new FullBuildRequired(
      `the running sum ${past[0]} is past 2^53, where its stored double may not be the exact integer`,
    );
}
