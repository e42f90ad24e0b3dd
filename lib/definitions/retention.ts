import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.ts';

/** A source's `retention`: a positive duration such as "365d", validated like a view's ttl. */
export const retentionField = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, {
    error: (issue) => `${JSON.stringify(issue.input)} is not a duration`,
    params: {
      hint: 'write a positive whole number and a unit s, m, h, d or w, e.g. "365d" or "52w"; leave retention out to keep rows forever',
    },
  })
  .optional();

/** What the retention rule reads of a view (a FeatureView has all of it). */
export interface RetainedView {
  readonly transform: 'passthrough' | 'aggregation';
  readonly online: boolean;
  readonly ttl?: string;
  readonly ttlSeconds?: number;
  readonly aggregations?: readonly {
    readonly feature: string;
    readonly window: string;
    readonly windowSeconds: number;
  }[];
}

export interface RetentionConflict {
  readonly field: string;
  readonly message: string;
  readonly hint: string;
}

/**
 * The rule that keeps retention and the online TTL from disagreeing (README "Retention"): a
 * value is never served that the offline store no longer has.
 * - An online passthrough view serves an item until `event_ts + ttl`; retention deletes the row
 *   once `event_ts < now - retention`. So the view needs a ttl, at most the retention (no ttl
 *   would serve the value forever).
 * - An aggregation view's windows reach back `window` from every time; a window longer than the
 *   retention would be cut short (online after the next materialization, offline at once), so
 *   each window is at most the retention, online or not.
 * - An offline-only passthrough view reads what is stored: no conflict.
 * `retentionSeconds` undefined (keep forever): no conflict. `retentionLabel` says where the
 * retention comes from, e.g. `source "orders" retention "90d"`.
 */
export function retentionConflicts(
  view: RetainedView,
  retentionSeconds: number | undefined,
  retentionLabel: string,
): RetentionConflict[] {
  if (retentionSeconds === undefined) return [];
  const conflicts: RetentionConflict[] = [];
  const retention = formatDuration(retentionSeconds);
  if (view.transform === 'aggregation') {
    for (const spec of view.aggregations ?? [])
      if (spec.windowSeconds > retentionSeconds)
        conflicts.push({
          field: `aggregations.${spec.feature}`,
          message: `window "${spec.window}" is longer than ${retentionLabel}: rows older than ${retention} are deleted, so the window would never be full`,
          hint: `use windows of at most ${retention}, or raise the source's retention`,
        });
    return conflicts;
  }
  if (!view.online) return conflicts;
  if (view.ttlSeconds === undefined)
    conflicts.push({
      field: 'ttl',
      message: `an online view without ttl serves a value forever, but ${retentionLabel} deletes its row offline after ${retention}`,
      hint: `declare ttl: "${retention}" or shorter`,
    });
  else if (view.ttlSeconds > retentionSeconds)
    conflicts.push({
      field: 'ttl',
      message: `ttl "${view.ttl}" is longer than ${retentionLabel}: the online store would serve values whose rows the offline store has deleted`,
      hint: `lower ttl to at most ${retention}, or raise the source's retention`,
    });
  return conflicts;
}

/** A view's conflicts with its own source's retention, added to the view's issues. */
export function checkSourceRetention(
  issues: { add(field: string, message: string, hint?: string): void },
  view: RetainedView,
  source: {
    readonly name: string;
    readonly retention?: string;
    readonly retentionSeconds?: number;
  },
): void {
  const label = `source "${source.name}" retention "${source.retention}"`;
  for (const c of retentionConflicts(view, source.retentionSeconds, label))
    issues.add(c.field, c.message, c.hint);
}
