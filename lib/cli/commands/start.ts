import path from 'node:path';
import type { Command } from 'commander';
import { appliedRegistryPath } from '../../data-paths.ts';
import { ensureDemoEnvironment } from '../../local/demo-environment.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import { localViewNames, materializeLocal } from '../../local/materialize-local.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import { CliContext } from '../context.ts';
import { createProgress, type Progress } from '../progress.ts';
import { InterruptedError } from '../shutdown.ts';
import { applyLocal } from './apply.ts';
import { interruptedMaterialization } from './materialize.ts';
import { positiveIntegerOrZero } from './parse-options.ts';
import { serveUntilStopped } from './serve.ts';

/**
 * `npm start`: brings the local environment up to date with feature-defs/ and runs it:
 * validate → plan → apply → demo data in the offline store (first start) → materialize what
 * is new since each view's watermark → overview → lookup API with the in-process scheduler.
 */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'Run the whole store locally (what `npm start` runs): validate the definitions, apply them to env "local", generate and ingest the demo data (first start only), materialize the online views, then serve the lookup API with their schedules until Ctrl-C',
    )
    .option('--allow-breaking', 'apply even when the plan has breaking changes')
    .option(
      '--port <n>',
      'port of the lookup API (0 picks a free one)',
      positiveIntegerOrZero('port'),
      8080,
    )
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option(
      '--no-serve',
      'stop after the offline store is ready (no materialization, no server): validate, apply, demo data',
    )
    .action(
      async (
        options: { allowBreaking?: boolean; port: number; host: string; serve: boolean },
        command: Command,
      ) => {
        const ctx = CliContext.fromCommand(command);
        const { out } = ctx;
        // SIGINT/SIGTERM from here on: finish the step at hand (demo data is ingested all or
        // nothing; materialization stops at its next checkpoint), release locks, then exit.
        const stop = ctx.shutdown.stopSignal();
        const stopHere = (kept: string) => {
          if (stop.aborted)
            throw new InterruptedError(
              ctx.shutdown.signal ?? 'SIGTERM',
              kept,
              'run `npm start` again to go on',
            );
        };
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
        stopHere('stopped after applying the registry; nothing else was changed');
        let progress: Progress | undefined;
        const demo = await ensureDemoEnvironment({
          registry,
          dataDir: ctx.options.dataDir,
          env: ctx.env,
          onProgress: (done, total) => {
            progress ??= createProgress('demo data', total);
            progress.update(done);
          },
          signal: stop,
        })
          .catch((error: unknown) => {
            if (!(error instanceof InterruptedError)) throw error;
            throw new InterruptedError(
              error.signal,
              'stopped while preparing the demo data; each file is ingested all or nothing, so no half-ingested file is visible',
              'run `npm start` again: it ingests the files not ingested yet',
            );
          })
          .finally(() => progress?.stop());
        if (demo) {
          out.line(
            `${out.c.green('✔')} demo data ${demo.generated ? 'generated' : 'present'} (${ctx.display(demo.dir)})`,
          );
          for (const { source, rows } of demo.ingested) {
            out.line(
              `${out.c.green('✔')} ingested ${rows.toLocaleString('en-US')} rows into "${source}"`,
            );
          }
          out.line(
            `${out.c.green('✔')} offline store: ${ctx.display(offlineRoot(ctx.options.dataDir, ctx.env))}`,
          );
        }
        stopHere(
          demo ? 'stopped before materializing; the demo data is in the offline store' : 'stopped',
        );
        const store = options.serve
          ? await openLocalOnlineStore(ctx.options.dataDir, ctx.env)
          : undefined;
        if (store) {
          const materialized = await materializeLocal({
            registry,
            dataDir: ctx.options.dataDir,
            env: ctx.env,
            client: store.client,
            table: store.table,
            signal: stop,
          }).catch(async (error: unknown) => {
            await store.close();
            throw error;
          });
          if (stop.aborted) {
            await store.close();
            throw interruptedMaterialization(
              ctx.shutdown.signal ?? 'SIGTERM',
              materialized,
              localViewNames({ registry }),
              'run `npm start` again (it materializes the rest, from the checkpoint, before serving) or `fstore materialize`',
            );
          }
          for (const run of materialized) {
            out.line(
              `${out.c.green('✔')} materialized ${run.view}: ${run.counts.written.toLocaleString('en-US')} written, ${run.counts.skippedAsOlder.toLocaleString('en-US')} already current (${run.window.after ? `since ${run.window.after}` : 'all history'})`,
            );
            if (run.quarantine)
              out.line(
                `${out.c.yellow('!')} ${run.view}: ${run.counts.rejected} row(s) broke constraints, kept in ${ctx.display(run.quarantine)}`,
              );
          }
          out.line(
            `${out.c.green('✔')} online store: ${ctx.display(path.join(ctx.options.dataDir, ctx.env, 'online'))}`,
          );
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
        if (demo) {
          out.line(
            `  npx fstore training-set --service churn_v1 --entities ${ctx.display(demo.entitiesFile)} --out /tmp/churn_v1.parquet`,
          );
        }
        if (store) out.line('  npx fstore get --service churn_online --entity customer_id=C000001');
        out.line('  npx fstore describe churn_online     # one service in detail');
        out.line('  npx fstore plan                      # after editing feature-defs/');
        out.line('  npm run synth -- -c env=dev          # the AWS infrastructure for env dev');
        if (store)
          await serveUntilStopped(
            ctx,
            registry,
            { port: options.port, host: options.host, cacheTtlMs: 0 },
            store,
          );
      },
    );
}
