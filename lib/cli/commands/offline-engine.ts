import { isLocalEnv } from '../../data-paths.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import { athenaQueryRows, duckdbQueryRows, type QueryRows } from '../../quality/query-engine.ts';
import type { Registry } from '../../registry/index.ts';
import { athenaDialect } from '../../sql/athena-dialect.ts';
import type { Dialect } from '../../sql/dialect.ts';
import { duckdbDialect } from '../../sql/duckdb-dialect.ts';
import type { CliContext } from '../context.ts';

export interface OfflineEngine {
  readonly registry: Registry;
  readonly query: QueryRows;
  readonly dialect: Dialect;
}

/**
 * Runs `work` against the environment's offline engine: DuckDB over `.fstore/<env>/offline`
 * locally, Athena (workgroup `fstore-<env>`, Glue database of the env) on AWS.
 */
export async function withOfflineEngine<T>(
  ctx: CliContext,
  work: (engine: OfflineEngine) => Promise<T>,
): Promise<T> {
  const registry = await ctx.compile();
  if (!isLocalEnv(ctx.env)) {
    const { athenaRunnerFor } = await import('../aws-env.ts');
    const { runner, database } = athenaRunnerFor(ctx.env);
    ctx.out.status(`running on Athena (workgroup fstore-${ctx.env}) ...`);
    return work({ registry, query: athenaQueryRows(runner), dialect: athenaDialect(database) });
  }
  const { openDuckdb } = await import('../../offline/duckdb-session.ts');
  const session = await openDuckdb();
  try {
    return await work({
      registry,
      query: duckdbQueryRows(session.connection),
      dialect: duckdbDialect(offlineRoot(ctx.options.dataDir, ctx.env)),
    });
  } finally {
    session.close();
  }
}
