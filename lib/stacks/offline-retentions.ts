import type { StageConfig } from '../config/stage-config.ts';
import { parseDuration } from '../definitions/duration.ts';
import { retentionConflicts } from '../definitions/retention.ts';
import type { Registry } from '../registry/index.ts';

/**
 * Source → retention in seconds, for the scheduled retention: each source's own `retention`,
 * else the stage's `offline.retention`; sources with neither are kept forever (left out). A
 * view whose ttl or windows the stage default conflicts with (lib/definitions/retention.ts) is
 * refused at synth, naming the view, so no deploy schedules deleting rows the online store
 * still serves.
 */
export function offlineRetentions(registry: Registry, stage: StageConfig): Record<string, number> {
  const fallback =
    stage.offline.retention === undefined ? undefined : parseDuration(stage.offline.retention);
  const problems: string[] = [];
  const label = `the stage's offline.retention "${stage.offline.retention}"`;
  for (const view of registry.featureViews) {
    const source = registry.sources.find((s) => s.name === view.source);
    if (source?.retentionSeconds !== undefined) continue;
    for (const c of retentionConflicts(view, fallback, label))
      problems.push(`view "${view.name}" ${c.field}: ${c.message} (${c.hint})`);
  }
  if (problems.length > 0) throw new Error(`stage config "${stage.name}": ${problems.join('; ')}`);
  const retentions: Record<string, number> = {};
  for (const source of registry.sources) {
    const seconds = source.retentionSeconds ?? fallback;
    if (seconds !== undefined) retentions[source.name] = seconds;
  }
  return retentions;
}
