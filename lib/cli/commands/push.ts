import { type Command, Option } from 'commander';
import { ApiError } from '../../api/api-error.ts';
import { isLocalEnv } from '../../data-paths.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { executePush, type PushAnswer } from '../../push/execute-push.ts';
import { defaultPushLimits } from '../../push/push-limits.ts';
import { pushSource } from '../../push/push-source.ts';
import { type PushTarget, pushTargets } from '../../push/push-target.ts';
import { CliError, UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';
import { plural } from '../plural.ts';
import { readPushFile } from './push-file-rows.ts';

interface PushOptions {
  source: string;
  file: string;
  to: PushTarget;
  json?: boolean;
}

/**
 * `fstore push`: the rows of a file through the same rules and conditional writes as
 * `POST /v1/push/{source}` (docs/adr/0015-push.md), on the local online store (or the one a
 * running `fstore serve` holds). The whole file is one push: one bad row writes nothing.
 */
export function registerPush(program: Command): void {
  program
    .command('push')
    .description(
      'Write rows of a .jsonl or .csv file to the online views of a source now, as POST /v1/push/{source} does (local environments; offline not built yet)',
    )
    .requiredOption('--source <name>', 'the source the rows belong to')
    .requiredOption('--file <path>', 'rows: .jsonl (one JSON object per line) or .csv (header row)')
    .addOption(
      new Option('--to <target>', 'where the rows go (offline targets are not built yet)')
        .choices([...pushTargets])
        .default('online'),
    )
    .option('--json', 'print the answer as JSON')
    .action(async (options: PushOptions, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      if (!isLocalEnv(ctx.env))
        throw new UsageError(
          `push runs local environments from the CLI; on AWS ("${ctx.env}") the push route is not deployed yet`,
          'use --env local',
        );
      const registry = await ctx.compile();
      const source = inCli(() => pushSource(registry, options.source), '--source');
      const file = await readPushFile(options.file, source);
      if (file.rows.length === 0)
        throw new CliError(`${ctx.display(options.file)} has no rows`, {
          hint: 'write one row per line',
        });
      const store = await openLocalOnlineStore(ctx.options.dataDir, ctx.env, { attach: true });
      let answer: PushAnswer;
      try {
        answer = await executePush(
          { registry, client: store.client, table: store.table },
          defaultPushLimits,
          source.name,
          { rows: file.rows, to: options.to },
        ).catch((error: unknown) => {
          throw error instanceof ApiError
            ? fileError(error, ctx.display(options.file), file.place)
            : error;
        });
      } finally {
        await store.close();
      }
      if (options.json) return ctx.out.json(answer);
      const { online } = answer;
      ctx.out.line(
        `${ctx.out.c.green('✔')} pushed ${plural(answer.rows, 'row')} of ${answer.source} online: ${online.views
          .map((v) => `${v.view} ${v.written} written, ${v.skippedAsOlder} skipped as older`)
          .join('; ')}`,
      );
      for (const { view, reason } of online.notUpdated)
        ctx.out.line(`  not updated: ${view} (${reason})`);
    });
}

function inCli<T>(run: () => T, option: string): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof ApiError) throw new UsageError(`${option}: ${error.message}`);
    throw error;
  }
}

/** A push refusal told in the file's terms: `rows.csv data row 3, amount: ...`. */
function fileError(error: ApiError, file: string, place: (index: number) => string): CliError {
  const row = typeof error.details.row === 'number' ? error.details.row : undefined;
  const where = row === undefined ? file : `${file} ${place(row)}`;
  const message = error.message
    .replace(/^\$\.rows\[\d+\]\.?/, '')
    .replace(/^\$\.to: /, '--to: ')
    .replace(/\$\.rows\[(\d+)\]/g, (_, index: string) => place(Number(index)));
  return new CliError(`${where}${message.startsWith(':') ? '' : ': '}${message}`, {
    hint: 'nothing was written; fix the row and push the file again',
  });
}
