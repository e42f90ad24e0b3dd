import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  type QueryExecution,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { HintedError } from '../hinted-error.ts';
import { checkAthenaQuerySize } from '../sql/athena-query-size.ts';

/** Named explicitly: the Lambda bundles are minified, which renames classes (HintedError's default). */
export class AthenaQueryError extends HintedError {
  override name = 'AthenaQueryError';
}

export interface AthenaRunnerOptions {
  readonly athena: AthenaClient;
  readonly workgroup: string;
  readonly database: string;
  readonly pollInitialMs?: number;
  readonly pollMaxMs?: number;
  /** Overall limit for one query; it is stopped when exceeded. Default 30 minutes. */
  readonly timeoutMs?: number;
  /** Attempts for a throttled Start/Get call. Default 6. */
  readonly maxThrottledAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface AthenaQueryResult {
  readonly queryExecutionId: string;
  readonly dataScannedBytes: number;
  readonly engineExecutionMs: number;
  readonly outputLocation?: string;
}

const throttleNames = new Set(['ThrottlingException', 'TooManyRequestsException']);

/**
 * Runs queries in one Athena workgroup: starts them, polls with exponential backoff up to an
 * overall timeout, surfaces Athena's failure reason, stops the query on timeout or abort
 * (Ctrl-C), and pages through results.
 */
export class AthenaQueryRunner {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: AthenaRunnerOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  async run(
    sql: string,
    options: { signal?: AbortSignal; parameters?: readonly string[] } = {},
  ): Promise<AthenaQueryResult> {
    checkAthenaQuerySize(sql, `the Athena query "${sql.slice(0, 60).replace(/\s+/g, ' ')}…"`);
    const started = await this.throttled(() =>
      this.options.athena.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          WorkGroup: this.options.workgroup,
          QueryExecutionContext: { Database: this.options.database },
          ...(options.parameters?.length ? { ExecutionParameters: [...options.parameters] } : {}),
        }),
      ),
    );
    const id = started.QueryExecutionId;
    if (!id)
      throw new AthenaQueryError(
        'Athena returned no query execution id',
        'retry; check the workgroup exists',
      );
    const deadline = this.now() + (this.options.timeoutMs ?? 30 * 60_000);
    let delay = this.options.pollInitialMs ?? 200;
    for (;;) {
      if (options.signal?.aborted) {
        await this.stop(id);
        throw new AthenaQueryError(
          `Athena query ${id} was cancelled by the user`,
          'run it again when ready',
        );
      }
      const execution = (
        await this.throttled(() =>
          this.options.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id })),
        )
      ).QueryExecution;
      const state = execution?.Status?.State;
      if (state === 'SUCCEEDED') return resultOf(id, execution);
      if (state === 'FAILED') throw failure(id, execution);
      if (state === 'CANCELLED')
        throw new AthenaQueryError(
          `Athena query ${id} was cancelled${reason(execution)}`,
          'someone stopped it in the console or it was superseded',
        );
      if (this.now() >= deadline) {
        await this.stop(id);
        throw new AthenaQueryError(
          `Athena query ${id} did not finish within ${Math.round((this.options.timeoutMs ?? 1_800_000) / 1000)} s and was stopped`,
          'narrow the entity time range, or raise the timeout',
        );
      }
      await this.sleep(delay);
      delay = Math.min(delay * 2, this.options.pollMaxMs ?? 5000);
    }
  }

  /** Result rows as objects of text, page by page; the header row of the first page is skipped. */
  async *rows(queryExecutionId: string): AsyncGenerator<Record<string, string | null>> {
    for await (const page of this.pages(queryExecutionId))
      for (const row of page.rows)
        yield Object.fromEntries(page.columns.map((c, i) => [c.name, row[i] ?? null]));
  }

  /** Result rows with numbers, booleans and arrays typed by Athena's column types. */
  async *typedRows(queryExecutionId: string): AsyncGenerator<Record<string, unknown>> {
    for await (const page of this.pages(queryExecutionId))
      for (const row of page.rows)
        yield Object.fromEntries(
          page.columns.map((c, i) => [c.name, typedValue(row[i] ?? null, c.type)]),
        );
  }

  private async *pages(
    queryExecutionId: string,
  ): AsyncGenerator<{ columns: { name: string; type: string }[]; rows: (string | null)[][] }> {
    let nextToken: string | undefined;
    let columns: { name: string; type: string }[] | undefined;
    let first = true;
    do {
      const page: GetQueryResultsCommandOutput = await this.throttled(() =>
        this.options.athena.send(
          new GetQueryResultsCommand({
            QueryExecutionId: queryExecutionId,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        ),
      );
      columns ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => ({
        name: c.Name ?? '',
        type: (c.Type ?? 'varchar').toLowerCase(),
      }));
      const rows = (page.ResultSet?.Rows ?? [])
        .slice(first ? 1 : 0)
        .map((row) => columns?.map((_, i) => row.Data?.[i]?.VarCharValue ?? null) ?? []);
      yield { columns, rows };
      first = false;
      nextToken = page.NextToken;
    } while (nextToken);
  }

  private async stop(id: string): Promise<void> {
    await this.options.athena
      .send(new StopQueryExecutionCommand({ QueryExecutionId: id }))
      .catch(() => undefined);
  }

  private async throttled<T>(call: () => Promise<T>): Promise<T> {
    const attempts = this.options.maxThrottledAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const throttled =
          throttleNames.has((error as { name?: string }).name ?? '') ||
          (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling === true;
        if (!throttled) throw error;
        if (attempt >= attempts)
          throw new AthenaQueryError(
            `Athena kept throttling after ${attempts} attempts`,
            'run fewer queries at once or ask for a higher Athena quota',
            { cause: error },
          );
        await this.sleep(this.random() * (this.options.pollInitialMs ?? 200) * 2 ** attempt);
      }
    }
  }
}

const numericTypes = new Set([
  'tinyint',
  'smallint',
  'integer',
  'bigint',
  'real',
  'double',
  'float',
  'decimal',
]);

/** Athena's text of a value back to a JS value by the column's type. */
export function typedValue(text: string | null, type: string): unknown {
  if (text === null) return null;
  const base = type.replace(/\(.*$/, '');
  if (numericTypes.has(base)) {
    const number = Number(text);
    // A REAL's text is the shortest that names it among floats ("0.1" for 0.1f): rounded to
    // float32, it is the value Parquet and DuckDB give (0.10000000149011612), online too.
    if (base === 'real' || base === 'float') return Math.fround(number);
    return base === 'bigint' && !Number.isSafeInteger(number) ? text : number;
  }
  if (base === 'boolean') return text === 'true';
  if (base === 'array') {
    const inner = text.trim().replace(/^\[/, '').replace(/\]$/, '');
    if (inner === '') return [];
    return inner.split(', ').map((item) => {
      if (item === 'null') return null;
      const number = Number(item);
      return Number.isNaN(number) ? item : number;
    });
  }
  return text;
}

function resultOf(id: string, execution: QueryExecution | undefined): AthenaQueryResult {
  const location = execution?.ResultConfiguration?.OutputLocation;
  return {
    queryExecutionId: id,
    dataScannedBytes: execution?.Statistics?.DataScannedInBytes ?? 0,
    engineExecutionMs: execution?.Statistics?.EngineExecutionTimeInMillis ?? 0,
    ...(location ? { outputLocation: location } : {}),
  };
}

function reason(execution: QueryExecution | undefined): string {
  const text = execution?.Status?.StateChangeReason;
  return text ? `: ${text}` : '';
}

function failure(id: string, execution: QueryExecution | undefined): AthenaQueryError {
  const error = execution?.Status?.AthenaError;
  const kind = error
    ? ` [${[error.ErrorCategory === 1 ? 'system' : error.ErrorCategory === 2 ? 'user' : error.ErrorCategory === 3 ? 'other' : undefined, error.ErrorType].filter((x) => x !== undefined).join(' ')}]`
    : '';
  return new AthenaQueryError(
    `Athena query ${id} failed${reason(execution)}${kind}`,
    error?.ErrorCategory === 2
      ? 'fix the query or the data it reads (the error is on the user side)'
      : 'retry; if it persists, check the workgroup and the Glue tables',
  );
}
