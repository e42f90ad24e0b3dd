import type { Command } from 'commander';
import { isLocalEnv, onlineLockPath } from '../../data-paths.ts';
import { parseDuration } from '../../definitions/duration.ts';
import { describeBytes } from '../../offline/ingest-leftovers.ts';
import { applyRetention, type RetentionResult } from '../../offline/retention.ts';
import { localSnapshotPins } from '../../offline/retention-pins.ts';
import { acquireProcessLock } from '../../process-lock.ts';
import { CliError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { projectStageConfig } from '../project-stage-config.ts';
import { InterruptedError } from '../shutdown.ts';

interface RetentionCliOptions {
  source?: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

export const retentionDescription =
  "Delete offline rows older than each source's retention (its own, else the environment's offline.retention): whole dt partitions before the boundary, the boundary partition rewritten without the older rows (one commit); reports files, rows and bytes freed";

export function registerRetention(program: Command): void {
  program
    .command('retention')
    .description(retentionDescription)
    .option('--source <name>', 'one source (default: every source)')
    .option('--dry-run', 'show what would be deleted and freed; change nothing')
    .option(
      '--force',
      'delete rows that snapshots pin too (those snapshots then no longer reproduce)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: RetentionCliOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env))
        throw new CliError(
          `fstore retention works on local environments; "${ctx.env}" is an AWS environment, where the stack's scheduled retention job deletes old objects`,
          { hint: 'see README, "Retention"' },
        );
      const registry = await ctx.compile();
      const envRetention = projectStageConfig(ctx.env, ctx.options.defs).offline.retention;
      const signal = ctx.shutdown.stopSignal();
      // As compaction: the replaced files stay an hour for training sets (which take no lock),
      // and a running server or materialization (which hold the online store's lock) is kept out.
      const readers = options.dryRun
        ? undefined
        : await acquireProcessLock(
            onlineLockPath(ctx.options.dataDir, ctx.env),
            `the local online store of env "${ctx.env}" (a running server or materialization reads the files retention deletes)`,
          );
      let result: RetentionResult;
      try {
        result = await applyRetention({
          registry,
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          // Read under the store's write lock, and again before the commit.
          pins: () => localSnapshotPins(ctx.options.dataDir, ctx.env),
          signal,
          ...(envRetention ? { defaultRetentionSeconds: parseDuration(envRetention) } : {}),
          ...(options.source ? { source: options.source } : {}),
          ...(options.dryRun ? { dryRun: true } : {}),
          ...(options.force ? { force: true } : {}),
        });
      } catch (error) {
        const by = ctx.shutdown.signal;
        if (by && signal.aborted)
          throw new InterruptedError(
            by,
            'stopped before the commit point: nothing was deleted',
            'run fstore retention again',
          );
        throw error;
      } finally {
        await readers?.release();
      }
      if (options.json) ctx.out.json(result);
      else printRetention(ctx, result);
    });
}

function printRetention(ctx: CliContext, result: RetentionResult): void {
  const verb = result.dryRun ? 'would free' : 'freed';
  for (const s of result.sources)
    ctx.out.line(
      `  ${s.source} (retention ${s.retention}${s.from === 'environment' ? ', the environment default' : ''}; rows before ${s.boundary}): ${
        s.rowsDeleted === 0
          ? s.rowsKept > 0
            ? 'nothing deleted'
            : 'nothing older'
          : `${plural(s.rowsDeleted, 'row')}, ${plural(s.filesDeleted, 'file')} deleted, ${plural(s.filesRewritten, 'file')} rewritten, ${plural(s.partitionsDeleted.length, 'partition')} emptied; ${verb} ${describeBytes(s.bytesFreed)}`
      }${s.rowsKept > 0 ? `; ${plural(s.rowsKept, 'older row')} kept: snapshots ${s.keptFor.join(', ')} pin them` : ''}${s.pinnedBy.length > 0 ? `; snapshots ${s.pinnedBy.join(', ')} no longer reproduce` : ''}`,
    );
  if (result.keptForever.length > 0)
    ctx.out.line(
      `${ctx.out.c.dim('·')} kept forever (no retention, and no offline.retention for env): ${result.keptForever.join(', ')}`,
    );
  const rows = result.sources.reduce((n, s) => n + s.rowsDeleted, 0);
  const bytes = result.sources.reduce((n, s) => n + s.bytesFreed, 0);
  ctx.out.line(
    result.dryRun
      ? `${ctx.out.c.dim('·')} dry run: ${plural(rows, 'row')} would go, ${describeBytes(bytes)} would be freed; nothing changed`
      : `${ctx.out.c.green('✔')} retention deleted ${plural(rows, 'row')}, freed ${describeBytes(bytes)}${result.rewriteId ? ` (rewrite ${result.rewriteId})` : ''}`,
  );
  for (const warning of result.warnings) ctx.out.line(`${ctx.out.c.yellow('!')} ${warning}`);
}
