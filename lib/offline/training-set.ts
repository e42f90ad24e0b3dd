import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { firstLine, HintedError } from '../hinted-error.ts';
import type { Registry } from '../registry/index.ts';
import { type Dialect, quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { duckdbDialect } from '../sql/duckdb-dialect.ts';
import {
  type FeatureRequest,
  type PlannedView,
  planPointInTime,
  requiredJoinKeys,
} from '../sql/point-in-time-plan.ts';
import type { RunningTotalsSource } from '../sql/render-running-totals.ts';
import { type PointInTimeStrategy, renderTrainingSetSql } from '../sql/render-training-set.ts';
import { explainVanishedDataFile } from './compact-vanished-file.ts';
import { isNoFilesError, openDuckdb, queryRows } from './duckdb-session.ts';
import type { EntityPreload } from './entity-preload.ts';
import { copyFlaggedToParquetHashed, copyToParquetHashed } from './hashed-parquet-copy.ts';
import { interruptOnAbort } from './interrupt-on-abort.ts';
import { narrowToLatestRowDays } from './latest-row-days.ts';
import { loadEntities } from './load-entities.ts';
import { offlineRoot } from './local-layout.ts';
import { registerMatchTally } from './match-tally.ts';
import {
  checkRequestColumns,
  columnTypesOf,
  planOnDemandTrainingSet,
  registerOnDemandColumns,
} from './on-demand-columns.ts';
import { inputFormat } from './read-input-file.ts';
import { requestScope, scopedDuckdbDialect, withCommittedFiles } from './request-scope.ts';
import { ensureRunningTotals, runningTotalsView } from './running-totals.ts';
import type { SeqPins } from './seq-pins.ts';
import { SINGLE_THREAD_MAX_ROWS } from './small-request.ts';
import { copyHeldDays, numberedCopyKeys, sortedCopiesForRequest } from './sorted-copy-scope.ts';
import { tieFreeViews } from './unique-key-times.ts';
import { runningTotalsViews } from './view-reads.ts';

export { RUNNING_TOTALS_MIN_ENTITY_ROWS, runningTotalsViews } from './view-reads.ts';

export interface TrainingSetOptions {
  readonly registry: Registry;
  readonly dataDir: string;
  readonly env: string;
  /** A feature service name, or `view:feature` references. */
  readonly request: FeatureRequest;
  /** CSV, Parquet or JSON-lines file of entity rows: join keys, a timestamp, any labels. */
  readonly entities: string;
  readonly entityTimestampColumn?: string;
  readonly fullFeatureNames?: boolean;
  /** Write the result here (.parquet or .csv); without it, rows are returned. */
  readonly out?: string;
  readonly onPhase?: (phase: TrainingSetPhase) => void;
  /** Default `asof` (DuckDB's ASOF JOIN); `merge-window` runs the SQL Athena runs. */
  readonly strategy?: PointInTimeStrategy;
  /**
   * How aggregation views are computed on the `asof` strategy: `auto` (default) reads running
   * totals when there are at least RUNNING_TOTALS_MIN_ENTITY_ROWS entity rows and every function
   * of the view can be answered from them, else joins each entity row to its window's rows.
   */
  readonly aggregations?: 'auto' | 'range-join' | 'running-totals';
  /** `auto` reads running totals from this many entity rows (RUNNING_TOTALS_MIN_ENTITY_ROWS). */
  readonly runningTotalsFromRows?: number;
  /**
   * An on-demand transform that throws or returns a wrong value: `fail` (default) stops with the
   * entity row number; `null` gives that row's features of that view NULL and counts it.
   */
  readonly onTransformError?: 'fail' | 'null';
  /**
   * Stops the work: the running DuckDB query is interrupted, the JS functions it calls return at
   * once, and the training set rejects with the signal's reason (a half-written `out` removed).
   */
  readonly signal?: AbortSignal;
  /**
   * Read each source as of a highest `fstore_seq` (a replayed manifest, a snapshot): rows above
   * it are left out before any winner is chosen. A pinned read computes aggregations from the
   * source's rows (running totals hold every row, pinned or not).
   */
  readonly pins?: SeqPins;
  /**
   * With a Parquet `out`: also return the rows' v2 content hash (sha256-of-typed-columns-v2),
   * computed while the file is written (hashed-parquet-copy.ts), not by reading it back after.
   */
  readonly contentHash?: boolean;
  /** `entities` already being read (startEntityPreload): its session and rows are used. */
  readonly entityPreload?: EntityPreload;
}

export type TrainingSetPhase =
  | 'loading entities'
  | 'building running totals'
  /** The join, streaming into the output file when there is one. */
  | 'joining';

export interface TrainingSetResult {
  readonly rows: number;
  readonly columns: readonly string[];
  readonly matchRates: readonly { view: string; matched: number; rate: number }[];
  /**
   * One sentence per view that matched no entity row, with the source's data range and the
   * entity timestamps' range (most often the entity file asks for times outside the data).
   */
  readonly warnings: readonly string[];
  readonly elapsedMs: number;
  /** The aggregation views answered from running totals; the others used the range join. */
  readonly runningTotals: readonly string[];
  /** The sources read, sorted. */
  readonly sources: readonly string[];
  readonly sql: string;
  /** Rows whose on-demand features are NULL because the transform failed (`onTransformError: null`). */
  readonly transformErrors?: { readonly rows: number; readonly first?: string };
  readonly out?: string;
  /** The output's v2 content hash (hex), when `contentHash` was asked for a Parquet `out`. */
  readonly contentHash?: string;
  readonly records?: readonly Record<string, unknown>[];
}

export class TrainingSetError extends HintedError {}

/** DuckDB COPY options of a CSV result: timestamps as ISO 8601 in UTC with `Z`, microseconds kept. */
export const CSV_COPY_OPTIONS = "FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%fZ'";

/**
 * Point-in-time-correct training set on the local engine (DuckDB over `.fstore/<env>/offline`):
 * for each entity row, every requested feature as of that row's timestamp, never later.
 * Rows come back in the order of the entity file, each exactly once.
 */
export async function getTrainingSet(options: TrainingSetOptions): Promise<TrainingSetResult> {
  const started = performance.now();
  const timestampColumn = options.entityTimestampColumn ?? 'event_timestamp';
  const onDemand = planOnDemandTrainingSet(
    options.registry,
    options.request,
    options.fullFeatureNames ?? false,
  );
  const plan = planPointInTime(options.registry, options.request, {
    entityTimestampColumn: timestampColumn,
    ...(options.fullFeatureNames ? { fullFeatureNames: true } : {}),
    ...(onDemand ? { extraFeatures: onDemand.inputs } : {}),
  });
  if (options.pins && options.aggregations === 'running-totals')
    throw new TrainingSetError(
      'a pinned read (a replay or a snapshot) cannot use running totals: they hold every row, the later ones included',
      'leave --aggregations at auto, or pass --aggregations range-join',
    );
  const sources = [...new Set(plan.views.map((view) => view.source))].sort();
  const unpinned = options.pins && sources.find((source) => !options.pins?.has(source));
  if (unpinned)
    throw new TrainingSetError(
      `the pinned read has no pin for source "${unpinned}": the snapshot or manifest was made for other features`,
      'request the features it was made for, or create a snapshot that includes this source',
    );
  const hidden = new Set(onDemand?.inputs.map((i) => i.outputName));
  const storedNames = plan.outputNames.filter((name) => !hidden.has(name));
  options.signal?.throwIfAborted();
  const preload =
    options.entityPreload?.file === options.entities ? options.entityPreload : undefined;
  const session = await (preload?.session ?? openDuckdb());
  const stopInterrupting = interruptOnAbort(session.connection, options.signal);
  try {
    const { connection } = session;
    options.onPhase?.('loading entities');
    const entities = await loadEntities(connection, options.entities, {
      timestampColumn,
      joinKeys: requiredJoinKeys(plan),
      // A CSV's request values are parsed from their text, as a lookup parses its JSON.
      textColumns: onDemand?.requestFields.map((f) => f.name),
      ...(preload ? { preloaded: preload.rawTypes } : {}),
    });
    if (entities.rows <= SINGLE_THREAD_MAX_ROWS) await connection.run('SET threads = 1');
    const requestAsText = inputFormat(options.entities) === 'csv';
    const entityTypes = onDemand ? await columnTypesOf(connection, entities.table) : undefined;
    if (onDemand && entityTypes)
      checkRequestColumns(onDemand, entityTypes, options.entities, {
        timestampColumn,
        requestAsText,
      });
    // Parquet and DuckDB match column names without regard to case.
    const taken = new Set(entities.columns.map((c) => c.toLowerCase()));
    const clash = [...storedNames, ...(onDemand?.outputNames ?? [])].find((name) =>
      taken.has(name.toLowerCase()),
    );
    if (clash) {
      throw new TrainingSetError(
        `feature "${clash}" has the same name as a column of the entity file`,
        'rename that column, or request full feature names (--full-feature-names)',
      );
    }
    const root = offlineRoot(options.dataDir, options.env);
    const dialect = duckdbDialect(root);
    const scope = {
      ...(await requestScope(
        connection,
        entities.table,
        plan,
        entities.rows,
        requiredJoinKeys(plan),
      )),
      ...(options.pins ? { pins: options.pins } : {}),
    };
    const latestDays = withCommittedFiles(
      root,
      plan,
      await narrowToLatestRowDays(connection, root, plan, scope),
    );
    const narrowed = {
      ...latestDays,
      sortedCopies: await sortedCopiesForRequest(
        connection,
        root,
        plan,
        latestDays,
        entities,
        options.strategy,
      ),
    };
    const scoped = scopedDuckdbDialect(dialect, root, plan, narrowed);
    const runningTotals = await prepareRunningTotals(
      connection,
      root,
      dialect,
      runningTotalsViews(
        plan,
        options.pins ? { ...options, aggregations: 'range-join' } : options,
        entities.rows,
      ),
      options,
    );
    const sql = renderTrainingSetSql(plan, scoped, {
      entityRelation: entities.table,
      entityColumns: onDemand ? [...entities.columns, 'fstore_row_id'] : entities.columns,
      ...(entities.timeRange ? { entityTimeRange: entities.timeRange } : {}),
      matchFlags: true,
      ...(options.strategy ? { strategy: options.strategy } : {}),
      runningTotals,
      tieFreeViews: tieFreeViews(plan, (source) => narrowed.committed?.get(source)?.uniqueKeyTimes),
      numberedKeys: numberedCopyKeys(narrowed.sortedCopies),
      heldDays: copyHeldDays(narrowed.sortedCopies),
    });
    // One pass: the join streams into the file (or the reader), counting matches as it goes;
    // into a hashed Parquet file it goes through a table, where the match flags are counted.
    options.onPhase?.('joining');
    const matchColumns = plan.views.map((_, index) => `fstore_match_${index}`);
    const tally = registerMatchTally(connection, matchColumns, options.signal);
    const stored = [...entities.columns, ...storedNames];
    const columns = [...stored, ...(onDemand?.outputNames ?? [])];
    const joined = onDemand ? ['fstore_row_id', ...stored, ...hidden] : stored;
    const joinResult = `SELECT ${joined.map(quoteIdentifier).join(', ')} FROM (\n${sql}\n) fstore_result WHERE ${tally.condition}`;
    const onDemandColumns = onDemand
      ? registerOnDemandColumns(connection, onDemand, {
          onError: options.onTransformError ?? 'fail',
          signal: options.signal,
          columnTypes: entityTypes ?? new Map(),
          requestAsText,
        })
      : undefined;
    const result = onDemandColumns ? onDemandColumns.select(joinResult, stored) : joinResult;
    const flaggedResult = `SELECT ${[...joined, ...matchColumns].map(quoteIdentifier).join(', ')} FROM (\n${sql}\n) fstore_result`;
    let counted: { readonly rows: number; readonly matches: readonly number[] } | undefined;
    let records: Record<string, unknown>[] | undefined;
    let contentHash: string | undefined;
    // An existing file is replaced only by a complete result: the result is written beside it
    // and renamed over it. A new file is removed when the query fails half-way.
    const written =
      options.out !== undefined && existsSync(options.out)
        ? path.join(
            path.dirname(options.out),
            `.${path.basename(options.out)}.fstore-${process.pid}`,
          )
        : options.out;
    try {
      const csv = options.out !== undefined && path.extname(options.out).toLowerCase() === '.csv';
      if (written && options.contentHash && !csv && !onDemandColumns) {
        const copy = await copyFlaggedToParquetHashed(
          session,
          flaggedResult,
          written,
          matchColumns,
          options.signal,
        );
        contentHash = copy.hash;
        counted = { rows: copy.rows, matches: copy.trueCounts };
      } else if (written && options.contentHash && !csv) {
        contentHash = await copyToParquetHashed(session, result, written, options.signal);
      } else if (written) {
        const format = csv ? CSV_COPY_OPTIONS : 'FORMAT parquet, COMPRESSION zstd';
        await connection.run(`COPY (${result}) TO ${quoteLiteral(written)} (${format})`);
      } else {
        records = await queryRows(connection, result);
      }
    } catch (error) {
      if (written) await rm(written, { force: true });
      throw onDemandColumns?.failure() ?? explainQueryError(error, options);
    }
    const failed = onDemandColumns?.failure();
    if (failed) {
      if (written) await rm(written, { force: true });
      throw failed;
    }
    const resultRows = counted?.rows ?? tally.rows();
    if (resultRows !== entities.rows)
      throw new TrainingSetError(
        `the point-in-time query returned ${resultRows} rows for ${entities.rows} entity rows`,
        'this is a bug in fstore: report it with the output of --show-sql',
      );
    if (options.out && written && written !== options.out) await rename(written, options.out);
    const matchRates = plan.views.map((view, index) => {
      const matched = (counted?.matches ?? tally.counts())[index] ?? 0;
      return { view: view.view, matched, rate: entities.rows === 0 ? 0 : matched / entities.rows };
    });
    const warnings: string[] = [];
    for (const [index, rate] of matchRates.entries()) {
      const view = plan.views[index];
      if (rate.matched > 0 || entities.rows === 0 || !view) continue;
      warnings.push(await unmatchedViewWarning(connection, dialect, view, entities));
    }
    return {
      rows: entities.rows,
      columns,
      matchRates,
      warnings,
      elapsedMs: performance.now() - started,
      runningTotals: [...runningTotals.keys()].sort(),
      sources,
      sql,
      ...(onDemandColumns && onDemandColumns.nulled().rows > 0
        ? { transformErrors: onDemandColumns.nulled() }
        : {}),
      ...(options.out ? { out: options.out } : {}),
      ...(contentHash ? { contentHash } : {}),
      ...(records ? { records } : {}),
    };
  } catch (error) {
    // An interrupted query (or a step it broke) is the stop it was asked for.
    options.signal?.throwIfAborted();
    throw error;
  } finally {
    stopInterrupting();
    session.close();
  }
}

/** Why a view may have matched none of the entity rows: its data range beside theirs. */
async function unmatchedViewWarning(
  connection: DuckDBConnection,
  dialect: Dialect,
  view: PlannedView,
  entities: { rows: number; timeRange?: { min: string; max: string } },
): Promise<string> {
  const lead = `view ${view.view} matched 0 of ${entities.rows.toLocaleString('en-US')} entity rows`;
  const asked = entities.timeRange
    ? ` (entity timestamps ${entities.timeRange.min}..${entities.timeRange.max})`
    : '';
  const ts = quoteIdentifier(view.timestampColumn);
  const format = "'%Y-%m-%dT%H:%M:%S.%fZ'";
  const range = await queryRows(
    connection,
    `SELECT strftime(min(${ts}), ${format}) AS min, strftime(max(${ts}), ${format}) AS max FROM ${dialect.sourceRelation(view.source)}`,
  )
    .then((rows) => rows[0])
    .catch((error: unknown) => {
      if (isNoFilesError(error)) return undefined;
      throw error;
    });
  if (!range?.min)
    return `${lead}: source ${view.source} has no rows in the offline store (ingest it with \`fstore ingest --source ${view.source}\`)`;
  return `${lead}: check the entity timestamps against the data range ${String(range.min)}..${String(range.max)}${asked}`;
}

/** Finds or builds the running totals of `views`, keyed by view name. */
async function prepareRunningTotals(
  connection: DuckDBConnection,
  root: string,
  dialect: Dialect,
  views: readonly PlannedView[],
  options: TrainingSetOptions,
): Promise<Map<string, RunningTotalsSource>> {
  const found = new Map<string, RunningTotalsSource>();
  for (const view of views) {
    const whole = runningTotalsView(options.registry, view.view);
    if (!whole) continue;
    const totals = await ensureRunningTotals(connection, root, dialect, whole, () =>
      options.onPhase?.('building running totals'),
    ).catch((error: unknown) => {
      // Chosen automatically, they are only a faster way to the same values.
      if ((options.aggregations ?? 'auto') === 'auto') return undefined;
      throw new TrainingSetError(
        `the running totals of view "${view.view}" could not be built: ${firstLine(error)}`,
        'rerun with --aggregations range-join, or fix the cause and retry',
        { cause: error },
      );
    });
    if (totals) found.set(view.view, totals);
  }
  return found;
}

function explainQueryError(error: unknown, options: TrainingSetOptions): Error {
  const vanished = explainVanishedDataFile(error, offlineRoot(options.dataDir, options.env));
  if (vanished) return vanished;
  if (isNoFilesError(error)) {
    return new TrainingSetError(
      `a requested view has no data in ${offlineRoot(options.dataDir, options.env)}`,
      'ingest its source first: fstore ingest --source <name> --file <path>',
      { cause: error },
    );
  }
  return new TrainingSetError(
    `the point-in-time query failed: ${firstLine(error)}`,
    'run with --verbose for the SQL error',
    { cause: error },
  );
}
