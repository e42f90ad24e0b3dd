import { createInterface } from 'node:readline/promises';
import { type Command, Option } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { type EraseResult, eraseEntities } from '../../erasure/erase-entities.ts';
import { ErasureKeyError, parseErasureKeys } from '../../erasure/erasure-keys.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { CliError, UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { InterruptedError } from '../shutdown.ts';
import {
  materializationWaitReporter,
  printQuarantineAndOnline,
  printSnapshotsAffected,
} from './delete-summary.ts';

interface DeleteCliOptions {
  entity: string[];
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  bucket?: string;
  breakLock?: string;
}

const deleteDescription =
  'Delete every row and item of entities (right to erasure): offline rows of every source with a column of the key (files rewritten, one commit; compaction-replaced files holding it deleted), quarantined rows, running totals and online items of every view; audited with hashed keys. On AWS: objects found with Athena, rewritten under one commit record per source, the old ones deleted with every version';

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description(deleteDescription)
    .requiredOption(
      '--entity <key=value>',
      'a join key and value, repeatable: --entity customer_id=C1 --entity customer_id=C2 (a row holding any of them goes)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--dry-run', 'count the rows and items that would go; change nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print the counts as JSON')
    .addOption(
      new Option(
        '--bucket <name>',
        'AWS environments: the offline bucket (default the stack output OfflineBucketName)',
      ).env('FSTORE_OFFLINE_BUCKET'),
    )
    .option(
      '--break-lock <owner>',
      'AWS environments: take over a source’s compaction lock from this owner (named in the "already running" error) before its lease expires, e.g. after a delete was killed; only once that run is gone',
    )
    .action(async (options: DeleteCliOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      // FSTORE_OFFLINE_BUCKET set for AWS work is no mistake on a local environment; the flag is.
      if (command.getOptionValueSource('bucket') === 'cli' && isLocalEnv(ctx.env))
        throw new UsageError(
          '--bucket applies to AWS environments only',
          'leave it out for a local environment',
        );
      if (options.breakLock !== undefined) {
        if (isLocalEnv(ctx.env))
          throw new UsageError(
            '--break-lock applies to AWS environments (--env <aws>): the local store’s lock is a file taken over once its process is gone',
          );
        if (options.dryRun)
          throw new UsageError('--break-lock has no effect with --dry-run, which takes no lock');
        if (!/^([0-9a-f]{12}|unreadable)$/.test(options.breakLock))
          throw new UsageError(
            `--break-lock must name the lock's owner as the "already running" error shows it (12 hex digits, or "unreadable"); got "${options.breakLock}"`,
          );
      }
      const registry = await ctx.compile();
      let keys: ReturnType<typeof parseErasureKeys>;
      try {
        keys = parseErasureKeys(registry, options.entity);
      } catch (error) {
        if (error instanceof ErasureKeyError) throw new UsageError(error.message, error.hint);
        throw error;
      }
      const dryRun = options.dryRun === true;
      if (!dryRun && !options.yes)
        await confirm(
          `Delete every row and online item of ${plural(keys.length, 'key')} (${keys.map((k) => k.key).join(', ')}) from env "${ctx.env}"? This cannot be undone.`,
        );
      if (!isLocalEnv(ctx.env)) {
        // Loaded here only: a local delete never loads the AWS SDK.
        const { deleteOnAws } = await import('./delete-aws.ts');
        await deleteOnAws(ctx, registry, {
          keys,
          dryRun,
          json: options.json === true,
          ...(options.bucket !== undefined ? { bucket: options.bucket } : {}),
          ...(options.breakLock !== undefined ? { breakLock: options.breakLock } : {}),
        });
        return;
      }
      // From here a stop request is honoured before the offline commit, never inside it.
      const signal = ctx.shutdown.stopSignal();
      const store = await openLocalOnlineStore(ctx.options.dataDir, ctx.env, {
        attach: dryRun,
      });
      let result: EraseResult;
      try {
        result = await eraseEntities({
          registry,
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          keys,
          online: { client: store.client, table: store.table },
          dryRun,
          signal,
          onMaterializationWait: materializationWaitReporter(ctx),
        });
      } catch (error) {
        const by = ctx.shutdown.signal;
        if (by && signal.aborted)
          throw new InterruptedError(
            by,
            'stopped before the offline commit: nothing was deleted offline',
            'run the same fstore delete again',
          );
        throw error;
      } finally {
        await store.close();
      }
      if (options.json) ctx.out.json(result);
      else printSummary(ctx, result);
    });
}

function printSummary(ctx: CliContext, result: EraseResult): void {
  const verb = result.dryRun ? 'would delete' : 'deleted';
  for (const { source, rows, files, replacedFiles = 0 } of result.offline)
    ctx.out.line(
      `offline ${source}: ${verb} ${plural(rows, 'row')}${files > 0 ? ` in ${plural(files, 'file')}` : ''}${replacedFiles > 0 ? `, and ${plural(replacedFiles, 'file')} a compaction replaced (kept for late readers)` : ''}`,
    );
  printQuarantineAndOnline(ctx, result);
  if (result.runningTotalsRemoved.length > 0)
    ctx.out.line(
      `running totals of ${result.runningTotalsRemoved.join(', ')} removed; the next training set that needs them builds them again`,
    );
  printSnapshotsAffected(ctx, result.snapshotsAffected);
  for (const warning of result.warnings) ctx.out.line(`${ctx.out.c.yellow('warning:')} ${warning}`);
  if (result.dryRun) ctx.out.line('Dry run: nothing was changed and nothing audited.');
  else
    ctx.out.line(
      `${ctx.out.c.green('✔')} audited in ${ctx.display(result.auditFile ?? '')} (keys as HMAC-SHA256 hashes under the environment's audit key). Training sets and replays that read these rows no longer reproduce exactly.`,
    );
}

async function confirm(question: string): Promise<void> {
  if (!process.stdin.isTTY)
    throw new UsageError(
      'fstore delete removes rows for good and needs a confirmation',
      'pass --yes to confirm when not at a terminal (or --dry-run to count first)',
    );
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(`${question} [y/N] `);
  prompt.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('nothing deleted', { exitCode: 1 });
}
