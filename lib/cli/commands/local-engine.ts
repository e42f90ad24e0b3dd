import { isLocalEnv } from '../../local/data-paths.ts';
import { openDuckdb } from '../../offline/duckdb-session.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import type { Registry } from '../../registry/index.ts';
import type { Dialect } from '../../sql/dialect.ts';
import { duckdbDialect } from '../../sql/duckdb-dialect.ts';
import { UsageError } from '../cli-error.ts';
import type { CliContext } from '../context.ts';

export interface LocalEngine {
  readonly registry: Registry;
  readonly connection: Awaited<ReturnType<typeof openDuckdb>>['connection'];
  readonly dialect: Dialect;
}

/**
 * Runs `work` with DuckDB over the local offline store of the command's environment, for the
 * data-quality commands that have no Athena version yet; refuses AWS environments clearly.
 */
export async function withLocalEngine<T>(
  ctx: CliContext,
  command: string,
  work: (engine: LocalEngine) => Promise<T>,
): Promise<T> {
  if (!isLocalEnv(ctx.env))
    throw new UsageError(
      `${command} runs on the local engine; "${ctx.env}" is on AWS`,
      'use --env local (Athena support is not there yet)',
    );
  const registry = await ctx.compile();
  const session = await openDuckdb();
  try {
    return await work({
      registry,
      connection: session.connection,
      dialect: duckdbDialect(offlineRoot(ctx.options.dataDir, ctx.env)),
    });
  } finally {
    session.close();
  }
}
