import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { demoSources, startOfUtcDay, writeDemoData } from '../../demo/index.ts';
import { appliedRegistryPath, demoDataDir } from '../../local/data-paths.ts';
import { CliContext } from '../context.ts';
import { createProgress } from '../progress.ts';
import { applyLocal } from './apply.ts';

/**
 * `npm start`: brings the local environment up to date with feature-defs/. Today that is
 * validate → plan → apply → overview; the embedded online store, scheduler and HTTP API join
 * here as they land (see README, Status).
 */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'Validate feature-defs/, apply them to the local environment and show what is defined',
    )
    .option('--allow-breaking', 'apply even when the plan has breaking changes')
    .action(async (options: { allowBreaking?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      const { out } = ctx;
      out.line(
        out.c.bold(`fstore: starting env "${ctx.env}" from ${ctx.display(ctx.options.defs)}`),
      );
      const registry = await ctx.compile();
      out.line(`${out.c.green('✔')} definitions valid (registry ${registry.version})`);
      const changed = await applyLocal(ctx, options.allowBreaking, true);
      if (!changed)
        out.line(
          `${out.c.green('✔')} registry already applied (${ctx.display(appliedRegistryPath(ctx.options.dataDir, ctx.env))})`,
        );
      const demoDir = demoDataDir(ctx.options.dataDir, ctx.env);
      const hasDemoData = demoSources.every((source) =>
        existsSync(path.join(demoDir, `${source}.parquet`)),
      );
      const hasDemoSources = demoSources.every((source) =>
        registry.sources.some((s) => s.name === source),
      );
      if (!hasDemoData && hasDemoSources) {
        const progress = createProgress('demo data');
        const summary = await writeDemoData({
          registry,
          outDir: demoDir,
          format: 'parquet',
          customers: 1000,
          days: 90,
          seed: 42,
          end: startOfUtcDay(new Date()),
          onProgress: (done, total) => progress.update(done, total),
        }).finally(() => progress.stop());
        const rows = summary.files
          .map((f) => `${f.rows.toLocaleString('en-US')} ${f.source}`)
          .join(', ');
        out.line(`${out.c.green('✔')} generated demo data: ${rows} (${ctx.display(demoDir)})`);
      } else if (hasDemoData) {
        out.line(`${out.c.green('✔')} demo data present (${ctx.display(demoDir)})`);
      }
      out.line();
      out.line(out.c.bold('Feature views'));
      out.table(
        ['view', 'features', 'ttl', 'online', 'schedule'],
        registry.featureViews.map((v) => [
          v.name,
          v.features.map((f) => f.name),
          v.ttl ?? 'none',
          v.online ? 'yes' : 'no',
          v.schedule ?? '',
        ]),
      );
      out.line(out.c.bold('Feature services'));
      out.table(
        ['service', 'features'],
        registry.featureServices.map((s) => [s.name, s.features.map((f) => f.outputName)]),
      );
      out.line();
      out.line('Next:');
      out.line('  npx fstore describe churn_online     # one service in detail');
      out.line('  npx fstore plan                      # after editing feature-defs/');
      out.line('  npm run synth -- -c env=dev          # the AWS infrastructure for env dev');
    });
}
