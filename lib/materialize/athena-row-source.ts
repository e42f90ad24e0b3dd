import type { ValueType } from '../definitions/index.ts';
import type { AthenaQueryRunner } from '../offline/athena-query-runner.ts';
import type { Dialect } from '../sql/dialect.ts';
import { renderAggregatesAt } from '../sql/render-aggregation.ts';
import { renderLatestPerEntity } from '../sql/render-latest.ts';
import type { LatestRowsQuery, RowSource } from './row-source.ts';

/**
 * Athena over the Glue tables: one query per run (or per resumed invocation), its result read
 * page by page with GetQueryResults (1,000 rows a page) and typed back from Athena's text.
 * Lists come as JSON text so they parse exactly.
 */
export function athenaRowSource(
  runner: AthenaQueryRunner,
  dialect: Dialect,
  options: { pageRows?: number; signal?: AbortSignal } = {},
): RowSource {
  return {
    async *latestRows(query: LatestRowsQuery) {
      const { queryExecutionId } = await runner.run(
        renderAthenaLatest(query, dialect),
        options.signal ? { signal: options.signal } : {},
      );
      const types = columnTypes(query);
      let batch: Record<string, unknown>[] = [];
      for await (const row of runner.rows(queryExecutionId)) {
        batch.push(typedRow(row, types));
        if (batch.length >= (options.pageRows ?? 1000)) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    },
  };
}

/** Trino drops ORDER BY inside subqueries, so the key order and the list casts go outside. */
export function renderAthenaLatest(query: LatestRowsQuery, dialect: Dialect): string {
  const q = dialect.quote;
  const resume = query.afterKey ? { afterKey: query.afterKey } : {};
  const inner = query.view.aggregations
    ? renderAggregatesAt(query.view, dialect, query.window, resume)
    : renderLatestPerEntity(query.view, dialect, query.window, resume);
  const columns = [
    ...query.view.joinKeys.map((k) => q(k.name)),
    ...query.view.features.map((f) =>
      f.type.startsWith('list<')
        ? `json_format(CAST(${q(f.outputName)} AS JSON)) AS ${q(f.outputName)}`
        : q(f.outputName),
    ),
    'event_ts',
    'created_ts',
    'fstore_seq',
  ];
  return [
    `SELECT ${columns.join(', ')}`,
    `FROM (${inner}) fstore_latest`,
    `ORDER BY ${query.view.joinKeys.map((k) => q(k.name)).join(', ')}`,
  ].join('\n');
}

type ColumnKind = ValueType | 'text' | 'integer';

function columnTypes(query: LatestRowsQuery): Map<string, ColumnKind> {
  return new Map<string, ColumnKind>([
    ...query.view.joinKeys.map((k): [string, ColumnKind] => [k.name, k.type]),
    ...query.view.features.map((f): [string, ColumnKind] => [f.outputName, f.type]),
    ['event_ts', 'text'],
    ['created_ts', 'text'],
    ['fstore_seq', 'integer'],
  ]);
}

function typedRow(
  row: Record<string, string | null>,
  types: Map<string, ColumnKind>,
): Record<string, unknown> {
  const typed: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(row))
    typed[name] = text === null ? null : fromText(text, types.get(name) ?? 'text');
  return typed;
}

/** Athena's text rendering of a value back to what DuckDB's JSON rows give. */
export function fromText(text: string, kind: ColumnKind): unknown {
  if (kind.startsWith('list<')) return JSON.parse(text);
  switch (kind) {
    case 'int32':
    case 'int64':
    case 'integer':
      return Number.isSafeInteger(Number(text)) ? Number(text) : text;
    case 'float32':
    case 'float64':
      return Number(text);
    case 'bool':
      return text === 'true';
    default:
      return text;
  }
}
