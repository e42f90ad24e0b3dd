import { statSync } from 'node:fs';
import { formatDuration } from '../definitions/duration.ts';
import { retentionConflicts } from '../definitions/retention.ts';
import { microsOfMillis } from '../epoch-micros.ts';
import { firstLine, HintedError } from '../hinted-error.ts';
import type { Registry } from '../registry/index.ts';
import type { Dialect } from '../sql/dialect.ts';
import { duckdbDialect } from '../sql/duckdb-dialect.ts';
import { selectedSources } from './compact.ts';
import { defaultKeepReplacedMs } from './compact-replaced.ts';
import { openDuckdb } from './duckdb-session.ts';
import { type IngestRecord, readManifestState } from './ingest-manifest.ts';
import { offlineRoot } from './local-layout.ts';
import type { RetentionPin } from './retention-pins.ts';
import {
  planSourceRetention,
  type RetentionFileStep,
  type SourceRetentionPlan,
  snapshotsPinning,
} from './retention-plan.ts';
import { type FileRewrite, rewriteCommittedFiles } from './rewrite-files.ts';
import { refreshRunningTotals } from './running-totals.ts';
import { holdSnapshotsLock } from './snapshots.ts';
import { refreshSortedCopy, removeStaleSortedCopies } from './sorted-copy.ts';

export class RetentionError extends HintedError {}

export interface RetentionOptions {
  readonly registry: Registry;
  readonly dataDir: string;
  readonly env: string;
  /** One source; default every source of the registry. */
  readonly source?: string;
  /** The environment's retention for sources that declare none (seconds); absent: keep them. */
  readonly defaultRetentionSeconds?: number;
  /**
   * What snapshots pin (lib/offline/retention-pins.ts); pinned rows are refused unless `force`.
   * A function is called under the store's write lock when planning and again right before the
   * commit, so a snapshot created while retention runs is seen (snapshots take another lock).
   */
  readonly pins: readonly RetentionPin[] | (() => Promise<readonly RetentionPin[]>);
  /** Delete rows snapshots pin too (those snapshots no longer reproduce). */
  readonly force?: boolean;
  /** Plan only: what would be deleted, nothing changed. */
  readonly dryRun?: boolean;
  /** "Now" in epoch microseconds (tests); default the wall clock. */
  readonly nowMicros?: bigint;
  /**
   * How long the files deleted or rewritten stay on disk after the commit for training sets that
   * listed them before it (readers take no lock); default defaultKeepReplacedMs, as compaction.
   */
  readonly keepReplacedMs?: number;
  readonly signal?: AbortSignal;
}

export interface SourceRetention {
  readonly source: string;
  /** Applied retention ("365d") and where it comes from. */
  readonly retention: string;
  readonly from: 'source' | 'environment';
  /** Rows with event time before this instant (ISO, UTC) are deleted. */
  readonly boundary: string;
  /** `dt` partitions left with no row. */
  readonly partitionsDeleted: readonly string[];
  /** Files deleted whole, and files rewritten without their older rows. */
  readonly filesDeleted: number;
  readonly filesRewritten: number;
  readonly rowsDeleted: number;
  /** Bytes of the files deleted or rewritten, less the bytes of the rewritten files. */
  readonly bytesFreed: number;
  /** Snapshots whose pinned rows were deleted (only with force). */
  readonly pinnedBy: readonly string[];
  /** Rows older than the boundary kept because snapshots pin them (not with force). */
  readonly rowsKept: number;
  /** The snapshots of this source whose pins kept those rows. */
  readonly keptFor: readonly string[];
}

export interface RetentionResult {
  readonly dryRun: boolean;
  /** Id of the rewritten files; absent when nothing was changed. */
  readonly rewriteId?: string;
  readonly leftoversRemoved: number;
  readonly sources: readonly SourceRetention[];
  /** Sources with no retention (theirs nor the environment's): kept forever. */
  readonly keptForever: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Deletes the local offline store's rows older than each source's retention (its own, else the
 * environment's): whole files of the partitions before the boundary, and the older rows of the
 * boundary partition's files by rewriting them, all under ingest's commit rule in ONE commit
 * (rewriteCommittedFiles: a crash before it changes nothing). The old files no reader is given
 * any more stay on disk `keepReplacedMs` (an hour) for reads planned before the commit, as
 * compaction keeps its replaced files; the next write after that, or `fstore doctor --fix`,
 * deletes them. Idempotent: a second run finds nothing older.
 * Refuses, changing nothing: a view whose ttl or window the environment's retention conflicts
 * with (lib/definitions/retention.ts), and rows a snapshot pins unless `force`.
 */
export async function applyRetention(options: RetentionOptions): Promise<RetentionResult> {
  const root = offlineRoot(options.dataDir, options.env);
  const nowMicros = options.nowMicros ?? microsOfMillis(Date.now());
  const sources = selectedSources(options.registry, options.source);
  refuseDefaultConflicts(options.registry, sources, options.defaultRetentionSeconds);
  const retained = sources.flatMap((name) => {
    const source = options.registry.sources.find((s) => s.name === name);
    const seconds = source?.retentionSeconds ?? options.defaultRetentionSeconds;
    if (!source || seconds === undefined) return [];
    return [
      {
        name,
        timestampField: source.timestampField,
        seconds,
        from:
          source.retentionSeconds !== undefined ? ('source' as const) : ('environment' as const),
      },
    ];
  });
  const keptForever = sources.filter((s) => !retained.some((r) => r.name === s));
  const pins = options.pins;
  const readPins = typeof pins === 'function' ? pins : async () => pins;
  let keptFor = new Map<string, string[]>();
  const session = await openDuckdb();
  try {
    const dialect = duckdbDialect(root);
    const planAll = async (records: readonly IngestRecord[]) => {
      const pins = await readPins();
      const plans: SourceRetentionPlan[] = [];
      for (const source of retained) {
        const keepThrough = options.force ? undefined : highestPin(pins, source.name);
        plans.push(
          await planSourceRetention(session.connection, dialect, {
            offlineRoot: root,
            source: source.name,
            timestampField: source.timestampField,
            records,
            retentionSeconds: source.seconds,
            from: source.from,
            nowMicros,
            pins,
            ...(keepThrough !== undefined ? { keepThrough } : {}),
          }),
        );
      }
      keptFor = new Map(
        retained.map((s) => [
          s.name,
          [
            ...new Set(
              pins.filter((p) => p.source === s.name && p.throughSeq > 0n).map((p) => p.snapshot),
            ),
          ].sort(),
        ]),
      );
      return plans;
    };
    if (options.dryRun) {
      const records = (await readManifestState(root))?.records ?? [];
      const plans = await planAll(records);
      return {
        dryRun: true,
        leftoversRemoved: 0,
        sources: plans.map((p) => summarize(p, new Map(), keptFor)),
        keptForever,
        warnings: [],
      };
    }
    let plans: SourceRetentionPlan[] = [];
    // Held from the last read of the pins to the commit: no snapshot is created between them.
    let snapshotsLock: { release(): Promise<void> } | undefined;
    const rewritten = await rewriteCommittedFiles({
      connection: session.connection,
      dataDir: options.dataDir,
      env: options.env,
      faultPrefix: 'retention',
      keepReplacedMs: options.keepReplacedMs ?? defaultKeepReplacedMs,
      ...(options.signal ? { signal: options.signal } : {}),
      plan: async (state) => {
        plans = await planAll(state.records);
        return plans.flatMap((p) => rewritesOf(dialect, timestampOf(retained, p), p));
      },
      // A snapshot created since the plan (its lock is not this one) pins what it read then:
      // rows the plan deletes that it pins refuse the commit (a rerun keeps them). One created
      // from here on waits for the commit (the snapshots' lock), so it sees what is left.
      beforeCommit: async () => {
        snapshotsLock = await holdSnapshotsLock(offlineRoot(options.dataDir, options.env));
        const latest = await readPins();
        plans = plans.map((p) => ({
          ...p,
          pinnedBy: p.steps.length > 0 ? snapshotsPinning(p.source, p.steps, latest) : [],
        }));
        if (!options.force) refusePinned(plans);
      },
    }).finally(() => snapshotsLock?.release());
    const writtenBytes = new Map<string, number>();
    for (const r of rewritten.rewrites)
      writtenBytes.set(
        r.file,
        r.written.reduce(
          (n, file) => n + (statSync(file, { throwIfNoEntry: false })?.size ?? 0),
          0,
        ),
      );
    const warnings: string[] = [];
    if (rewritten.notDeleted > 0)
      warnings.push(
        `${rewritten.notDeleted} old file(s) could not be deleted; no reader reads them, and fstore doctor --fix removes them`,
      );
    // Running totals cover the deleted files; rebuilt now rather than in a training set.
    for (const plan of plans.filter((p) => p.steps.length > 0))
      await refreshRunningTotals(
        session.connection,
        root,
        dialect,
        options.registry,
        plan.source,
      ).catch((error: unknown) => {
        warnings.push(
          `running totals of "${plan.source}" were not rebuilt (${firstLine(error)}); the next training set that needs them builds them`,
        );
      });
    // The copies held the deleted rows' files, so they are written again from what is left,
    // and the ones before (holding the deleted rows) go, written again or not.
    for (const plan of plans.filter((p) => p.steps.length > 0)) {
      await refreshSortedCopy(session.connection, root, options.registry, plan.source).catch(
        (error: unknown) => {
          warnings.push(
            `the sorted copy of "${plan.source}" was not written again (${firstLine(error)}); training sets read its files until the next ingest or \`fstore compact\``,
          );
        },
      );
      await removeStaleSortedCopies(session.connection, root, plan.source).catch(
        (error: unknown) => {
          warnings.push(
            `the sorted copies of "${plan.source}" made before the retention were not removed (${firstLine(error)}); they hold the deleted rows until the next retention or \`fstore delete\` of their keys removes them`,
          );
        },
      );
    }
    return {
      dryRun: false,
      ...(rewritten.rewriteId ? { rewriteId: rewritten.rewriteId } : {}),
      leftoversRemoved: rewritten.leftoversRemoved,
      sources: plans.map((p) => summarize(p, writtenBytes, keptFor)),
      keptForever,
      warnings,
    };
  } finally {
    session.close();
  }
}

function timestampOf(
  retained: readonly { name: string; timestampField: string }[],
  plan: SourceRetentionPlan,
): string {
  return retained.find((r) => r.name === plan.source)?.timestampField as string;
}

/** The highest `fstore_seq` a snapshot pins of `source`; absent when none pins a row of it. */
function highestPin(pins: readonly RetentionPin[], source: string): bigint | undefined {
  const seqs = pins
    .filter((p) => p.source === source && p.throughSeq > 0n)
    .map((p) => p.throughSeq);
  return seqs.length > 0 ? seqs.reduce((a, b) => (b > a ? b : a)) : undefined;
}

/**
 * Each step as a rewrite keeping the rows at or after the boundary (and NULL event times), and
 * the older rows a snapshot pins.
 */
function rewritesOf(
  dialect: Dialect,
  timestampField: string,
  plan: SourceRetentionPlan,
): FileRewrite[] {
  const ts = dialect.quote(timestampField);
  const keep = `${ts} >= ${dialect.timestampLiteral(plan.boundary)} OR ${ts} IS NULL${plan.keepThrough !== undefined ? ` OR fstore_seq <= ${plan.keepThrough}` : ''}`;
  return plan.steps.map((step) => ({
    source: plan.source,
    file: step.file,
    keep,
    expectedRemoved: step.oldRows,
  }));
}

function summarize(
  plan: SourceRetentionPlan,
  writtenBytes: ReadonlyMap<string, number>,
  keptFor: ReadonlyMap<string, readonly string[]>,
): SourceRetention {
  const whole = (s: RetentionFileStep) => s.oldRows === s.rows;
  const partitions = new Map<string, boolean>();
  for (const step of plan.steps)
    partitions.set(step.dt, (partitions.get(step.dt) ?? true) && whole(step));
  return {
    source: plan.source,
    retention: formatDuration(plan.retentionSeconds),
    from: plan.from,
    boundary: plan.boundary,
    // A partition whose committed files are all deleted whole; a dry run counts the same.
    partitionsDeleted: [...partitions].filter(([, all]) => all).map(([dt]) => `dt=${dt}`),
    filesDeleted: plan.steps.filter(whole).length,
    filesRewritten: plan.steps.filter((s) => !whole(s)).length,
    rowsDeleted: plan.steps.reduce((n, s) => n + s.oldRows, 0),
    bytesFreed: plan.steps.reduce(
      (n, s) => n + s.bytes - (whole(s) ? 0 : (writtenBytes.get(s.file) ?? 0)),
      0,
    ),
    pinnedBy: plan.pinnedBy,
    rowsKept: plan.rowsKept,
    keptFor: plan.rowsKept > 0 ? (keptFor.get(plan.source) ?? []) : [],
  };
}

function refusePinned(plans: readonly SourceRetentionPlan[]): void {
  const pinned = plans.filter((p) => p.pinnedBy.length > 0);
  if (pinned.length === 0) return;
  const what = pinned
    .map((p) => `"${p.source}" (snapshot ${p.pinnedBy.map((s) => `"${s}"`).join(', ')})`)
    .join(', ');
  throw new RetentionError(
    `retention would delete rows that snapshots created while it ran pin: ${what}; nothing was deleted`,
    'run again: the rows snapshots pin are kept (or pass --force: the snapshots then no longer reproduce)',
  );
}

/**
 * The environment's default retention applies to sources that declare none; a view of such a
 * source whose ttl or windows it conflicts with (the rule in lib/definitions/retention.ts) is
 * refused before anything is deleted.
 */
function refuseDefaultConflicts(
  registry: Registry,
  sources: readonly string[],
  defaultSeconds: number | undefined,
): void {
  if (defaultSeconds === undefined) return;
  const label = `the environment's default retention "${formatDuration(defaultSeconds)}"`;
  const problems: string[] = [];
  for (const view of registry.featureViews) {
    const source = registry.sources.find((s) => s.name === view.source);
    if (!source || source.retentionSeconds !== undefined || !sources.includes(source.name))
      continue;
    for (const c of retentionConflicts(view, defaultSeconds, label))
      problems.push(`view "${view.name}" ${c.field}: ${c.message}`);
  }
  if (problems.length > 0)
    throw new RetentionError(
      `${problems.join('; ')}; nothing was deleted`,
      `declare retention on the source (it wins over the environment's), or fix the view's ttl or windows`,
    );
}
