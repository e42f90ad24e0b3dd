import type { Command } from 'commander';
import { isLocalEnv } from '../../data-paths.ts';
import { localOwnerGone } from '../../local/local-lease-owner.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import {
  type MaterializationState,
  MaterializationStateStore,
} from '../../materialize/materialization-state.ts';
import { onlineTableName } from '../../online/online-table.ts';
import { dynamoDbClient } from '../aws-clients.ts';
import { awsRegion } from '../aws-region.ts';
import { CliContext } from '../context.ts';

export interface ViewStatus {
  readonly view: string;
  readonly version: string;
  readonly schedule?: string;
  readonly state: MaterializationState;
  /** Now minus the newest event time materialized, in milliseconds. */
  readonly freshnessLagMs?: number;
  /**
   * `running`: a live run holds the lease. `interrupted`: a run stopped (a stop request, a
   * crash, a killed process whose lease is still recorded) and the next run resumes at its
   * checkpoint. `idle`: nothing to resume.
   */
  readonly activity: 'running' | 'interrupted' | 'idle';
}

/**
 * What a view's materialization is doing now. A lease whose holder is a local process that no
 * longer runs is not a run: the next `fstore materialize` takes it over at once (the same check).
 */
export function activityOf(
  state: MaterializationState,
  now: number,
  isOwnerGone: (owner: string) => boolean = localOwnerGone,
): ViewStatus['activity'] {
  const lease = state.lease;
  if (lease && lease.expiresAt > now && !isOwnerGone(lease.owner)) return 'running';
  if (state.checkpoint || (lease && lease.expiresAt > now)) return 'interrupted';
  return 'idle';
}

function describeActivity(status: ViewStatus, now: number): string {
  const { lease, checkpoint } = status.state;
  if (status.activity === 'running') return `running (${lease?.owner})`;
  if (status.activity === 'idle') return 'idle';
  const rows = checkpoint
    ? ` after ${checkpoint.counts.rowsRead.toLocaleString('en-US')} rows`
    : '';
  const gone = lease && lease.expiresAt > now ? ` (${lease.owner} exited)` : '';
  return `interrupted, resumable${rows}${gone}`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'Show each online view’s materialization: watermark, last run, rows written, freshness lag',
    )
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      const registry = await ctx.compile();
      const local = isLocalEnv(ctx.env);
      const store = local
        ? await openLocalOnlineStore(ctx.options.dataDir, ctx.env, { attach: true })
        : {
            client: await dynamoDbClient(awsRegion(ctx.env)),
            table: onlineTableName(ctx.env),
            close: async () => {},
          };
      try {
        const now = Date.now();
        const statuses: ViewStatus[] = [];
        for (const view of registry.featureViews.filter((v) => v.online)) {
          const state = await new MaterializationStateStore(
            store.client,
            store.table,
            view.onlineStore.keyPrefix,
          ).read();
          statuses.push({
            view: view.name,
            version: view.version,
            ...(view.schedule ? { schedule: view.schedule } : {}),
            state,
            activity: activityOf(state, now),
            ...(state.newestEventTs
              ? { freshnessLagMs: now - Date.parse(state.newestEventTs) }
              : {}),
          });
        }
        if (options.json) {
          ctx.out.json(statuses);
          return;
        }
        ctx.out.table(
          [
            'view',
            'schedule',
            'watermark',
            'last run',
            'rows written',
            'quarantined',
            'freshness lag',
            'now',
          ],
          statuses.map((s) => {
            const run = s.state.lastRun;
            return [
              s.view,
              s.schedule ?? '-',
              s.state.watermark ?? 'never',
              run ? `${run.status} ${run.finishedAt}` : 'never',
              run?.counts.written ?? '-',
              run?.counts.rejected ?? '-',
              s.freshnessLagMs === undefined ? '-' : formatLag(s.freshnessLagMs),
              describeActivity(s, now),
            ];
          }),
        );
      } finally {
        await store.close();
      }
    });
}

/** `3d 4h`, `2h 5m`, `42s`: the two largest units of a duration. */
export function formatLag(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let rest = Math.round(Math.abs(ms) / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return sign + parts.join(' ');
}
