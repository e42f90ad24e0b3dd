import { isLocalEnv } from '../../data-paths.ts';
import {
  describeBytes,
  findIngestLeftovers,
  type IngestLeftover,
  removeIngestLeftovers,
} from '../../offline/ingest-leftovers.ts';
import { ingestLockPath, offlineRoot } from '../../offline/local-layout.ts';
import { LockedError } from '../../process-lock.ts';
import type { CliContext } from '../context.ts';
import { plural } from '../plural.ts';

/**
 * The doctor check of the environment's local offline store: what ingests killed before their
 * commit left there (staging folders, data files no reader reads), removed with `fix`.
 * `details` holds one line per leftover, for after the table.
 */
export function ingestLeftoversCheck(ctx: CliContext, fix: boolean) {
  const details: string[] = [];
  const describe = (leftovers: readonly IngestLeftover[]) => {
    for (const l of leftovers)
      details.push(`  ${l.kind}  ${ctx.display(l.path)}  ${describeBytes(l.bytes)}`);
    return `${plural(leftovers.length, 'leftover')} of interrupted ingests, ${describeBytes(leftovers.reduce((sum, l) => sum + l.bytes, 0))}`;
  };
  return {
    name: `offline store "${ctx.env}": interrupted ingests`,
    required: false,
    fix: fix
      ? 'run fstore doctor --fix again when the running ingest has ended'
      : 'run fstore doctor --fix (never while an ingest runs; no reader reads these files)',
    details,
    async run(): Promise<string> {
      if (!isLocalEnv(ctx.env)) return 'not checked for AWS environments';
      const root = offlineRoot(ctx.options.dataDir, ctx.env);
      if (fix) {
        try {
          const { removed } = await removeIngestLeftovers(
            root,
            ingestLockPath(ctx.options.dataDir, ctx.env),
            `the offline store of "${ctx.env}"`,
          );
          return removed.length === 0 ? 'no leftovers' : `removed ${describe(removed)}`;
        } catch (error) {
          if (error instanceof LockedError)
            throw new Error(`an ingest is running; nothing removed (${error.message})`);
          throw error;
        }
      }
      const { leftovers, running } = await findIngestLeftovers(root);
      const runningText =
        running.length > 0
          ? `; ${plural(running.length, 'ingest')} running (pid ${running.map((r) => r.pid).join(', ')})`
          : '';
      if (leftovers.length === 0) return `no leftovers${runningText}`;
      throw new Error(`${describe(leftovers)}${runningText}`);
    },
  };
}
