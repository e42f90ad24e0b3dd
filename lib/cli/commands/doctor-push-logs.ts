import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isLocalEnv } from '../../data-paths.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import { failedPushLogs } from '../../push/push-log.ts';
import type { CliContext } from '../context.ts';
import { plural } from '../plural.ts';

/**
 * The doctor check of push logs ingest refused (docs/adr/0015-push.md): each waits in
 * `offline/_push/<source>/failed/` beside its `.reason.txt` for a person to fix and replay it;
 * its rows are in no training set until then. `details` holds one line per log.
 */
export function failedPushLogsCheck(ctx: CliContext) {
  const details: string[] = [];
  return {
    name: `offline store "${ctx.env}": failed push logs`,
    required: false,
    fix: 'read each .reason.txt, fix the cause, then fstore push --source <source> --file <failed log> --to offline and delete both files',
    details,
    async run(): Promise<string> {
      if (!isLocalEnv(ctx.env)) return 'not checked for AWS environments';
      const root = path.join(offlineRoot(ctx.options.dataDir, ctx.env), '_push');
      const sources = await readdir(root).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [] as string[];
        throw error;
      });
      const bySource: string[] = [];
      for (const source of sources.sort()) {
        const failed = await failedPushLogs(ctx.options.dataDir, ctx.env, source);
        if (failed.length === 0) continue;
        bySource.push(`${source} ${failed.length}`);
        for (const f of failed)
          details.push(
            `  failed push log  ${ctx.display(f.log)}  (why: ${ctx.display(f.reasonFile)})`,
          );
      }
      if (bySource.length === 0) return 'none';
      throw new Error(
        `${plural(details.length, 'push log')} not ingested (${bySource.join(', ')}): their rows are in no training set until replayed`,
      );
    },
  };
}
