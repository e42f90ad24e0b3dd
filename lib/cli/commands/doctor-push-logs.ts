import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isLocalEnv } from '../../data-paths.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import { failedPushLogs, pendingPushLogs } from '../../push/push-log.ts';
import type { CliContext } from '../context.ts';
import { plural } from '../plural.ts';

/** A server ingests waiting logs every minute by default; older ones mean nobody does. */
const staleAfterMs = 10 * 60_000;

/**
 * The doctor check of push logs ingest refused (docs/adr/0015-push.md): each waits in
 * `offline/_push/<source>/failed/` beside its `.reason.txt` for a person to fix and replay it;
 * its rows are in no training set until then; and of logs waiting for over ten minutes (no
 * server compacting them, or a source no longer defined). `details`: one line per failed log.
 */
export function failedPushLogsCheck(ctx: CliContext) {
  const details: string[] = [];
  return {
    name: `offline store "${ctx.env}": push logs`,
    required: false,
    fix: 'not ingested: read each .reason.txt, fix the cause, then fstore push --source <source> --file <failed log> --to offline and delete both files; waiting: run fstore compact',
    details,
    async run(): Promise<string> {
      if (!isLocalEnv(ctx.env)) return 'not checked for AWS environments';
      const root = path.join(offlineRoot(ctx.options.dataDir, ctx.env), '_push');
      const sources = await readdir(root).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [] as string[];
        throw error;
      });
      const bySource: string[] = [];
      const stale: string[] = [];
      const now = Date.now();
      for (const source of sources.sort()) {
        const failed = await failedPushLogs(ctx.options.dataDir, ctx.env, source);
        if (failed.length > 0) bySource.push(`${source} ${failed.length}`);
        for (const f of failed)
          details.push(
            `  failed push log  ${ctx.display(f.log)}  (why: ${ctx.display(f.reasonFile)})`,
          );
        let old = 0;
        for (const log of await pendingPushLogs(ctx.options.dataDir, ctx.env, source)) {
          const modified = (await stat(log).catch(() => undefined))?.mtimeMs ?? now;
          if (now - modified > staleAfterMs) old += 1;
        }
        if (old > 0) stale.push(`${source} ${old}`);
      }
      if (bySource.length === 0 && stale.length === 0) return 'none';
      throw new Error(
        [
          bySource.length > 0
            ? `${plural(details.length, 'push log')} not ingested (${bySource.join(', ')}): their rows are in no training set until replayed`
            : '',
          stale.length > 0
            ? `push logs waiting over ${staleAfterMs / 60_000} min (${stale.join(', ')}): run fstore compact, or keep fstore serve running (a source no longer defined keeps its logs)`
            : '',
        ]
          .filter((part) => part !== '')
          .join('; '),
      );
    },
  };
}
