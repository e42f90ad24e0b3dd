import type { AthenaQueryRunner } from '../offline/athena-query-runner.ts';
import type { Dialect } from '../sql/dialect.ts';
import { type LatestRowsQuery, type RowSource, renderMaterializationRows } from './row-source.ts';

/**
 * Athena over the Glue tables: one query per run (or per resumed invocation), its result read
 * page by page with GetQueryResults (1,000 rows a page), typed by Athena's column types; lists
 * come as JSON text so they parse exactly.
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
      const lists = query.view.features
        .filter((f) => f.type.startsWith('list<'))
        .map((f) => f.outputName);
      let batch: Record<string, unknown>[] = [];
      for await (const row of runner.typedRows(queryExecutionId)) {
        for (const name of lists)
          if (typeof row[name] === 'string') row[name] = JSON.parse(row[name] as string);
        batch.push(row);
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
    `FROM (${renderMaterializationRows(query, dialect)}) fstore_latest`,
    `ORDER BY ${query.view.joinKeys.map((k) => q(k.name)).join(', ')}`,
  ].join('\n');
}
