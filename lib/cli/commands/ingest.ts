import type { Command } from 'commander';
import { isLocalEnv } from '../../local/data-paths.ts';
import { ingestFile } from '../../offline/ingest.ts';
import { UsageError } from '../cli-error.ts';
import { CliContext } from '../context.ts';

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description(
      'Validate a CSV, Parquet or JSON-lines file against a source schema and add it to the offline store (all or nothing)',
    )
    .requiredOption('--source <name>', 'source the rows belong to')
    .requiredOption('--file <path>', 'a .csv (header row), .parquet or .jsonl file')
    .option('--allow-duplicate', 'ingest a file whose exact content was ingested before')
    .action(
      async (
        options: { source: string; file: string; allowDuplicate?: boolean },
        command: Command,
      ) => {
        const ctx = CliContext.fromCommand(command);
        if (!isLocalEnv(ctx.env)) {
          throw new UsageError(
            `ingest into AWS environment "${ctx.env}" is not available yet`,
            'ingest into a local environment (--env local); S3 ingest comes with the AWS offline store',
          );
        }
        const registry = await ctx.compile();
        const started = performance.now();
        const result = await ingestFile({
          registry,
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          source: options.source,
          file: options.file,
          ...(options.allowDuplicate ? { allowDuplicate: true } : {}),
          onPhase: (phase) => {
            if (phase !== 'done') ctx.out.status(`${phase} ${ctx.display(options.file)} ...`);
          },
        });
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        ctx.out.line(
          `${ctx.out.c.green('✔')} ingested ${result.rows.toLocaleString('en-US')} rows into "${result.source}" (${result.partitions.length} day partitions, ${result.files.length} files) in ${seconds} s; ingest ${result.ingestId}`,
        );
      },
    );
}
