import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { faultPoint, pauseAt } from '../fault-injection.ts';
import { firstLine, HintedError } from '../hinted-error.ts';
import { tiledRowsRecordFields } from '../push/tiled-push-rows.ts';
import { duckdbQueryRows } from '../quality/query-engine.ts';
import { viewFeatureRows } from '../quality/source-rows.ts';
import { checkViewRules } from '../quality/validate-data.ts';
import type { Registry, RegistrySource } from '../registry/index.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { duckdbDialect } from '../sql/duckdb-dialect.ts';
import { openDuckdb, queryRows } from './duckdb-session.ts';
import { type KeyTimeSet, newDataFilesId, readManifest } from './ingest-manifest.ts';
import {
  CommitOutcomeUnknownError,
  type IngestRecord,
  type IngestTarget,
  LocalIngestTarget,
} from './ingest-target.ts';
import { offlineRoot, stagingDir } from './local-layout.ts';
import { defaultTargetFileBytes, writePartitionedFiles } from './parquet-layout.ts';
import { inputFormat, readInputFile } from './read-input-file.ts';
import { refreshRunningTotals, type TotalsRefresh } from './running-totals.ts';
import { refreshSortedCopy, type SortedCopyRefresh } from './sorted-copy.ts';
import { castExpression, invalidCondition, rawText } from './typed-columns.ts';
import { keyTimeSetsOf, uniqueKeyTimesOfIngest } from './unique-key-times.ts';

export class IngestError extends HintedError {}

export interface IngestOptions {
  readonly registry: Registry;
  readonly dataDir: string;
  readonly env: string;
  readonly source: string;
  readonly file: string;
  readonly allowDuplicate?: boolean;
  /**
   * Keep rows that break the constraints of views reading this source (materialization then
   * quarantines them). By default such a file is refused, naming each broken rule.
   */
  readonly allowConstraintViolations?: boolean;
  /**
   * Skip the views' per-ingest `quality` rules (`minRows`, `maxNullPercent`), which judge a
   * batch's size and shape; row constraints are still checked. For push logs, whose rows were
   * checked one by one when pushed and whose size is whatever one request held (ADR 0015).
   */
  readonly skipBatchQualityRules?: boolean;
  /**
   * Read a schema column the file does not have as NULL instead of refusing the file (a push
   * log written before the column was added). A required column (event time, join key) is then
   * refused as empty, and feature constraints (`nullable: false`) still apply.
   */
  readonly absentColumnsAsNull?: boolean;
  /**
   * Size the data files aim for (bytes, default 128 MiB): each `dt` partition gets one file,
   * or files of about this size when its rows are larger.
   */
  readonly targetFileBytes?: number;
  /**
   * For pushed rows: the `[start, end)` offsets of the file's rows (blank lines not counted)
   * that their pushes applied to tiles, or `all`; kept in the commit record
   * (IngestRecord.pushTiledRows).
   */
  readonly pushTiledRows?: readonly (readonly [number, number])[] | 'all';
  /** For push logs: each log's first row offset and key, kept in the commit record (IngestRecord.pushLogs). */
  readonly pushLogs?: readonly (readonly [number, string])[];
  /**
   * For pushed rows: by tile prefix, the offsets applied to that view version's tiles, or `all`
   * (IngestRecord.pushTiledRowsByView).
   */
  readonly pushTiledRowsByView?: Readonly<
    Record<string, readonly (readonly [number, number])[] | 'all'>
  >;
  /** Where the files go; default the local offline store of `env` under `dataDir`. */
  readonly target?: IngestTarget;
  readonly onPhase?: (phase: IngestPhase) => void;
  /** A stop request (SIGINT/SIGTERM): honoured up to the commit point, which it never splits. */
  readonly signal?: AbortSignal;
}

export type IngestPhase =
  | 'reading'
  | 'validating'
  | 'writing'
  | 'building running totals'
  | 'sorting'
  | 'done';

export interface IngestResult {
  readonly ingestId: string;
  readonly source: string;
  readonly rows: number;
  readonly partitions: readonly string[];
  readonly files: readonly string[];
  readonly sha256: string;
  /** Things that went wrong after the rows were stored. */
  readonly warnings: readonly string[];
  /**
   * The running totals of aggregation views over the source this ingest built: incrementally
   * (only keys with new rows) or in full, and why not incrementally.
   */
  readonly runningTotals: readonly TotalsRefresh[];
  /** Whether the ingest wrote the source's sorted copy again (sorted-copy.ts). */
  readonly sortedCopyWritten: boolean;
}

const maxReportedProblems = 5;

/**
 * Validates every row of `file` against the source schema and writes it to the local offline
 * store as Hive-partitioned Parquet. All or nothing: nothing is written unless every row is
 * valid, and the rows become visible at one commit point (ADR 0008), even if the process dies. Each stored row gets `fstore_seq`, increasing across ingests, which breaks the last
 * ties of point-in-time joins in favour of the row ingested last.
 */
export async function ingestFile(options: IngestOptions): Promise<IngestResult> {
  const source = options.registry.sources.find((s) => s.name === options.source);
  if (!source) {
    throw new IngestError(
      `no source "${options.source}" in the registry`,
      `known sources: ${options.registry.sources.map((s) => s.name).join(', ')}`,
    );
  }
  const fileInfo = await stat(options.file).catch(() => undefined);
  if (!fileInfo?.isFile())
    throw new IngestError(
      `file ${options.file} does not exist`,
      'pass the path of a .csv, .parquet or .jsonl file',
    );
  inputFormat(options.file);
  const sha256 = await hashFile(options.file);
  const target = options.target ?? new LocalIngestTarget(options.dataDir, options.env);
  const refuseIfIngested = async () => {
    if (options.allowDuplicate) return;
    const earlier = await target.findIngest(source.name, sha256);
    if (earlier)
      throw new IngestError(
        `${path.basename(options.file)} was already ingested into "${source.name}" at ${earlier.at} (ingest ${earlier.ingestId}, ${earlier.rows} rows); nothing was written`,
        'pass --allow-duplicate to ingest the same rows again',
      );
  };
  await refuseIfIngested();

  const session = await openDuckdb();
  const ingestId = newDataFilesId();
  const staging = stagingDir(options.dataDir, options.env, ingestId);
  try {
    options.onPhase?.('reading');
    const { connection } = session;
    const rawTypes = await readInputFile(connection, options.file, {
      table: 'fstore_raw',
      rowNumberColumn: 'fstore_input_row',
      textColumns: 'all',
    });
    const columns = mapColumns(source, rawTypes, options.file, options.absentColumnsAsNull);
    for (const absent of columns.filter((c) => !rawTypes.has(c.raw)))
      await connection.run(
        `ALTER TABLE fstore_raw ADD COLUMN ${quoteIdentifier(absent.raw)} VARCHAR`,
      );

    options.onPhase?.('validating');
    await validateRows(connection, options.registry, source, columns, options.file);
    const rows = Number(
      (await queryRows(connection, 'SELECT count(*) AS n FROM fstore_raw'))[0]?.n ?? 0,
    );
    if (rows === 0)
      throw new IngestError(
        `${path.basename(options.file)} has no rows`,
        'check the file; nothing was written',
      );

    const typed = columns.map(
      (c) => `${castExpression(c.raw, c.rawType, c.type)} AS ${quoteIdentifier(c.name)}`,
    );
    if (!options.allowConstraintViolations)
      await refuseConstraintViolations(
        connection,
        options.registry,
        source.name,
        typed,
        options.file,
        options.skipBatchQualityRules === true,
      );

    options.signal?.throwIfAborted();
    options.onPhase?.('writing');
    const files = await writeAndCommit({
      ...(options.signal ? { signal: options.signal } : {}),
      refuseIfIngested,
      connection,
      target,
      ...(target instanceof LocalIngestTarget
        ? {
            uniqueKeyTimes: (published: readonly string[]) =>
              localUniqueKeyTimes(connection, options, source.name, published),
          }
        : {}),
      staging,
      ingestId,
      source: source.name,
      targetFileBytes: options.targetFileBytes ?? defaultTargetFileBytes,
      // The integer as text: an S3 ingest's clock sequence passes 2^53, where a number's own
      // text is its shortest round trip, not its value (the record keeps the value).
      selectRows: (firstSeq) =>
        `SELECT ${typed.join(', ')}, CAST(${BigInt(firstSeq)} + fstore_input_row - 1 AS BIGINT) AS fstore_seq, strftime(${castExpression(columnFor(columns, source.timestampField).raw, columnFor(columns, source.timestampField).rawType, 'timestamp')}, '%Y-%m-%d') AS dt FROM fstore_raw`,
      record: (firstSeq) => ({
        ingestId,
        source: source.name,
        file: path.resolve(options.file),
        sha256,
        rows,
        firstSeq,
        at: new Date().toISOString(),
        ...(options.pushTiledRows === undefined && options.pushTiledRowsByView === undefined
          ? {}
          : tiledRowsRecordFields(
              allRows(options.pushTiledRows ?? [], rows),
              options.pushTiledRowsByView === undefined
                ? undefined
                : Object.fromEntries(
                    Object.entries(options.pushTiledRowsByView).map(([prefix, ranges]) => [
                      prefix,
                      allRows(ranges, rows),
                    ]),
                  ),
            )),
        ...(options.pushLogs === undefined ? {} : { pushLogs: options.pushLogs }),
      }),
    });
    const warnings: string[] = [];
    let runningTotals: readonly TotalsRefresh[] = [];
    let sortedCopy: SortedCopyRefresh | undefined;
    if (target instanceof LocalIngestTarget) {
      const root = offlineRoot(options.dataDir, options.env);
      // The rows are stored by now; totals are a cache the next training set rebuilds.
      runningTotals = await refreshRunningTotals(
        connection,
        root,
        duckdbDialect(root),
        options.registry,
        source.name,
        () => options.onPhase?.('building running totals'),
      ).catch((error: unknown) => {
        warnings.push(
          `running totals of "${source.name}" were not built (${firstLine(error)}); the next training set that needs them builds them`,
        );
        return [];
      });
      sortedCopy = await refreshSortedCopy(connection, root, options.registry, source.name, {
        onWrite: () => options.onPhase?.('sorting'),
        ...(options.signal ? { signal: options.signal } : {}),
      }).catch((error: unknown) => {
        warnings.push(
          `the sorted copy of "${source.name}" was not written (${firstLine(error)}); training sets read its files instead until the next ingest or \`fstore compact\` writes it`,
        );
        return undefined;
      });
    }
    options.onPhase?.('done');
    const partitions = [...new Set(files.map((f) => path.basename(path.dirname(f))))].sort();
    return {
      ingestId,
      source: source.name,
      rows,
      partitions,
      files,
      sha256,
      warnings,
      runningTotals,
      sortedCopyWritten: sortedCopy?.written === true,
    };
  } finally {
    session.close();
  }
}

/**
 * Stages, publishes and commits the rows of one ingest while holding the target's write right.
 * The commit is the one step that makes them visible: a crash before it leaves files no reader
 * reads (`fstore doctor --fix` removes them), a crash after it leaves the whole ingest stored.
 * A failure that can be caught removes what was published.
 */
async function writeAndCommit(step: {
  connection: DuckDBConnection;
  target: IngestTarget;
  staging: string;
  ingestId: string;
  source: string;
  /** Rows of the ingest, unordered, with `fstore_seq` and `dt`. */
  selectRows: (firstSeq: number) => string;
  targetFileBytes: number;
  record: (firstSeq: number) => Omit<IngestRecord, 'files'>;
  /** Checked again once the write lock is held: the same content may have committed meanwhile. */
  refuseIfIngested: () => Promise<void>;
  /** The key sets the published rows bring no tie into (IngestRecord.uniqueKeyTimes). */
  uniqueKeyTimes?: (published: readonly string[]) => Promise<readonly KeyTimeSet[]>;
  signal?: AbortSignal;
}): Promise<string[]> {
  const writing = await step.target.beginWrite();
  let published: string[] = [];
  let committed = false;
  try {
    await step.refuseIfIngested();
    const firstSeq = await step.target.nextSeq();
    await mkdir(step.staging, { recursive: true });
    await writeFile(
      path.join(step.staging, 'owner.json'),
      `${JSON.stringify({ pid: process.pid, ingestId: step.ingestId, source: step.source })}\n`,
    );
    const data = path.join(step.staging, 'data');
    await writePartitionedFiles(step.connection, {
      select: step.selectRows(firstSeq),
      orderBy: 'fstore_seq',
      dir: data,
      id: step.ingestId,
      targetBytes: step.targetFileBytes,
    });
    faultPoint('ingest:after-stage');
    published = await step.target.publish(step.source, data);
    faultPoint('ingest:after-publish');
    const unique = (await step.uniqueKeyTimes?.(published)) ?? [];
    await pauseAt('ingest:before-commit', step.signal);
    // The last moment a stop request can still leave nothing visible.
    step.signal?.throwIfAborted();
    await step.target.commit(
      { ...step.record(firstSeq), ...(unique.length > 0 ? { uniqueKeyTimes: unique } : {}) },
      published,
    );
    committed = true;
    faultPoint('ingest:after-commit');
    return published;
  } catch (error) {
    if (!committed && !(error instanceof CommitOutcomeUnknownError))
      await step.target.discard(published);
    throw error;
  } finally {
    await rm(step.staging, { recursive: true, force: true });
    await writing.release();
  }
}

/**
 * The key sets of the source's views in which the published rows bring no tie, checked while
 * the write lock is held. Only a faster join rides on it: a check that fails records nothing.
 */
async function localUniqueKeyTimes(
  connection: DuckDBConnection,
  options: IngestOptions,
  source: string,
  published: readonly string[],
): Promise<readonly KeyTimeSet[]> {
  const root = offlineRoot(options.dataDir, options.env);
  return uniqueKeyTimesOfIngest(connection, {
    offlineRoot: root,
    source,
    records: (await readManifest(root)) ?? [],
    newFiles: published,
    sets: keyTimeSetsOf(options.registry, source),
  }).catch(() => []);
}

/**
 * Checks the typed rows against the rules of every passthrough view reading the source: each
 * feature's constraints, and the view's `quality` (max NULL share per feature, min rows per
 * ingest); throws naming each broken rule with its count and the first input rows.
 */
async function refuseConstraintViolations(
  connection: DuckDBConnection,
  registry: Registry,
  source: string,
  typed: readonly string[],
  file: string,
  skipBatchQualityRules: boolean,
): Promise<void> {
  const broken: string[] = [];
  const batchRule = (rule: string) => rule.startsWith('min rows') || rule.startsWith('max null');
  const typedRows = `(SELECT ${typed.join(', ')}, fstore_input_row FROM fstore_raw)`;
  // The rows as views read them: the source's row filter applied, derived features computed.
  const dialect = { ...duckdbDialect('.'), sourceRelation: () => typedRows };
  const registrySource = registry.sources.find((s) => s.name === source);
  for (const view of registry.featureViews.filter(
    (v) => v.source === source && v.transform === 'passthrough',
  )) {
    const { rows, results } = await checkViewRules({
      query: duckdbQueryRows(connection),
      dialect,
      view,
      relation: registrySource
        ? viewFeatureRows(view, registrySource, dialect, ['fstore_input_row'])
        : typedRows,
      exampleColumns: ['fstore_input_row'],
    });
    for (const result of results.filter(
      (r) => !r.passed && !(skipBatchQualityRules && batchRule(r.rule)),
    )) {
      if (result.rule.startsWith('min rows'))
        broken.push(`${view.name} ${result.rule}: the file has ${rows}`);
      else if (result.rule.startsWith('max null'))
        broken.push(
          `${view.name}.${result.feature} ${result.rule}: ${((100 * result.violations) / rows).toFixed(2)}% null (${result.violations} of ${rows} rows)`,
        );
      else
        broken.push(
          `${view.name}.${result.feature} ${result.rule}: ${result.violations} row(s), e.g. row ${result.examples.map((e) => e.fstore_input_row).join(', ')}`,
        );
    }
  }
  if (broken.length > 0)
    throw new IngestError(
      `${path.basename(file)} breaks feature constraints; nothing was written:\n  ${broken.slice(0, maxReportedProblems).join('\n  ')}${broken.length > maxReportedProblems ? `\n  ... and ${broken.length - maxReportedProblems} more` : ''}`,
      'fix the rows, or pass --allow-violations to keep them (materialization quarantines rows breaking feature constraints)',
    );
}

interface MappedColumn {
  name: string;
  raw: string;
  rawType: string;
  type: RegistrySource['schema'][number]['type'];
}

function mapColumns(
  source: RegistrySource,
  rawTypes: ReadonlyMap<string, string>,
  file: string,
  absentAsNull = false,
): MappedColumn[] {
  const rawFor = new Map(Object.entries(source.fieldMapping).map(([raw, name]) => [name, raw]));
  const present = [...rawTypes.keys()].filter((c) => c !== 'fstore_input_row');
  const missing: string[] = [];
  const columns = source.schema.map((column) => {
    const raw = rawFor.get(column.name) ?? column.name;
    const rawType = rawTypes.get(raw);
    if (rawType === undefined)
      missing.push(raw === column.name ? `"${raw}"` : `"${raw}" (mapped to ${column.name})`);
    return { name: column.name, raw, rawType: rawType ?? 'VARCHAR', type: column.type };
  });
  if (missing.length > 0 && !absentAsNull) {
    throw new IngestError(
      `${path.basename(file)} has no column ${missing.join(', ')} required by source "${source.name}" (file columns: ${present.join(', ')})`,
      'add the column, or map a raw column to it with fieldMapping in the source definition',
    );
  }
  return columns;
}

function columnFor(columns: readonly MappedColumn[], name: string): MappedColumn {
  const column = columns.find((c) => c.name === name);
  if (!column) throw new Error(`internal: column ${name} not mapped`);
  return column;
}

async function validateRows(
  connection: DuckDBConnection,
  registry: Registry,
  source: RegistrySource,
  columns: readonly MappedColumn[],
  file: string,
): Promise<void> {
  // The event time and every column a view of this source uses as a join key must be present.
  const required = new Set([
    source.timestampField,
    ...registry.featureViews
      .filter((v) => v.source === source.name)
      .flatMap((v) => v.joinKeys.map((k) => k.name)),
  ]);
  const checks = columns.map((c) => {
    const invalid = invalidCondition(c.raw, c.rawType, c.type);
    const isRequired = required.has(c.name);
    const why = isRequired
      ? `CASE WHEN ${quoteIdentifier(c.raw)} IS NULL THEN 'is empty' ELSE 'is not a valid ${c.type}' END`
      : `'is not a valid ${c.type}'`;
    const condition = isRequired ? `(${quoteIdentifier(c.raw)} IS NULL OR ${invalid})` : invalid;
    return `SELECT fstore_input_row AS row_number, ${quoteLiteral(c.raw)} AS column_name, CAST(${rawText(c.raw, c.rawType)} AS VARCHAR) AS value, ${why} AS problem FROM fstore_raw WHERE ${condition}`;
  });
  const problems = await queryRows(
    connection,
    `SELECT * FROM (${checks.join(' UNION ALL ')}) ORDER BY row_number, column_name LIMIT ${maxReportedProblems + 1}`,
  );
  if (problems.length === 0) return;
  const total = Number(
    (await queryRows(connection, `SELECT count(*) AS n FROM (${checks.join(' UNION ALL ')})`))[0]
      ?.n ?? 0,
  );
  const lines = problems
    .slice(0, maxReportedProblems)
    .map(
      (p) =>
        `row ${p.row_number}, column ${p.column_name}: ${p.value === null ? 'is empty' : `${JSON.stringify(p.value)} ${p.problem}`}`,
    );
  throw new IngestError(
    `${path.basename(file)} has ${total} invalid value(s) for source "${source.name}"; nothing was written:\n  ${lines.join('\n  ')}${total > maxReportedProblems ? `\n  ... and ${total - maxReportedProblems} more` : ''}`,
    'fix the rows (row numbers count data rows from 1, after the header) and ingest the file again',
  );
}

/** Whether this exact file content was already ingested into `source`. */
export async function wasIngested(
  dataDir: string,
  env: string,
  source: string,
  file: string,
): Promise<boolean> {
  return (
    (await new LocalIngestTarget(dataDir, env).findIngest(source, await hashFile(file))) !==
    undefined
  );
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Tiled row offsets as a commit record holds them: `all` is every row of the ingest. */
function allRows(
  ranges: readonly (readonly [number, number])[] | 'all',
  rows: number,
): readonly (readonly [number, number])[] {
  if (ranges !== 'all') return ranges;
  return rows > 0 ? [[0, rows] as const] : [];
}
