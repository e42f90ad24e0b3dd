import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { isLocalEnv } from '../../local/data-paths.ts';
import { openLocalOnlineStore } from '../../local/local-online-store.ts';
import {
  type MaterializationState,
  MaterializationStateStore,
} from '../../materialize/materialization-state.ts';
import { onlineTableName } from '../../online/online-table.ts';
import { awsRegion } from '../aws-env.ts';
import { CliContext } from '../context.ts';

export interface ViewStatus {
  readonly view: string;
  readonly version: string;
  readonly schedule?: string;
  readonly state: MaterializationState;
  /** Now minus the newest event time materialized, in milliseconds. */
  readonly freshnessLagMs?: number;
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
            client: new DynamoDBClient({ region: awsRegion(ctx.env) }),
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
              s.state.lease && s.state.lease.expiresAt > now
                ? `running (${s.state.lease.owner})`
                : s.state.checkpoint
                  ? `resumable after ${s.state.checkpoint.counts.rowsRead} rows`
                  : 'idle',
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
