import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { faultPoint } from '../fault-injection.ts';
import { firstLine } from '../hinted-error.ts';
import { localOwnerGone } from '../local/local-lease-owner.ts';
import { openDuckdb } from '../offline/duckdb-session.ts';
import { offlineRoot } from '../offline/local-layout.ts';
import { snapshotPins } from '../offline/snapshots.ts';
import { refreshSortedCopy } from '../offline/sorted-copy.ts';
import { compactPushLogs } from '../push/compact-push-logs.ts';
import type { Registry } from '../registry/index.ts';
import {
  appendErasureAudit,
  auditKeys,
  currentUser,
  type ErasureAuditEntry,
} from './erasure-audit.ts';
import { affectedSources, type ErasureKey } from './erasure-keys.ts';
import { localAuditKey } from './local-audit-key.ts';
import { type MaterializationWait, withMaterializationLeases } from './materialization-leases.ts';
import { countOfflineRows, eraseOfflineRows } from './offline-erasure.ts';
import { eraseOnlineItems } from './online-erasure.ts';
import { eraseQuarantinedRows } from './quarantine-erasure.ts';

export interface EraseOptions {
  readonly registry: Registry;
  readonly dataDir: string;
  readonly env: string;
  readonly keys: readonly ErasureKey[];
  /**
   * The local online store, held by the caller. Its lock does not keep materialization out
   * (`fstore materialize` attaches to the store a running process published), so the online
   * step holds the views' materialization leases (withMaterializationLeases).
   */
  readonly online: { readonly client: DynamoDBClient; readonly table: string };
  /** How long to wait in all for running materializations (default 5 minutes). */
  readonly materializationWaitMs?: number;
  readonly materializationPollMs?: number;
  readonly onMaterializationWait?: (wait: MaterializationWait) => void;
  /** Whether a lease holder no longer runs (default: a `local-<pid>-` owner whose pid is gone). */
  readonly isOwnerGone?: (owner: string) => boolean;
  /** Count only: nothing changed, no audit entry. */
  readonly dryRun?: boolean;
  /** A stop request: honoured before the offline commit point, never splitting it. */
  readonly signal?: AbortSignal;
}

export interface EraseResult extends Omit<ErasureAuditEntry, 'kind'> {
  readonly dryRun: boolean;
  /** The audit file the entry went to (absent for a dry run). */
  readonly auditFile?: string;
  readonly warnings: readonly string[];
}

/**
 * Removes every row and item of `keys` from a local environment, in an order that a rerun after
 * a crash at any point completes: (0) push logs waiting for the affected sources are ingested
 * (else their rows would come back at their ingest), (1) the offline rows of every source with a
 * column of one of the keys (affectedSources; one commit, rewrite-files.ts, which also deletes
 * the compaction-replaced files kept for late readers that hold them) and those sources'
 * running totals, (2) quarantined
 * rows, (3) online items of every view, (4) one audit entry. Each step finds what is left of
 * the keys, so a rerun, or a second delete of the same keys, finds 0 and succeeds. Fault point
 * `delete:before-online` sits between (1) and (2), besides rewrite-files' own.
 */
export async function eraseEntities(options: EraseOptions): Promise<EraseResult> {
  const { registry, dataDir, env, keys } = options;
  const dryRun = options.dryRun === true;
  const sources = affectedSources(registry, keys);
  const warnings: string[] = [];
  if (!dryRun) {
    // Pushed rows waiting for the offline store would bring the keys back at their ingest.
    const pushed = await compactPushLogs({
      registry,
      dataDir,
      env,
      sources: sources.map((source) => source.name),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    for (const { source, failed } of pushed)
      if (failed.length > 0)
        warnings.push(
          `${failed.length} push log(s) of "${source}" could not be ingested and were set aside under its push log folder's failed/; they may hold rows of these keys`,
        );
  }
  const session = await openDuckdb();
  let offline: ErasureAuditEntry['offline'];
  let runningTotalsRemoved: readonly string[] = [];
  let deletedSeqs: ReadonlyMap<string, number> = new Map();
  try {
    if (dryRun) {
      const counted = await countOfflineRows(session.connection, dataDir, env, sources, keys);
      offline = counted.sources;
      deletedSeqs = counted.firstSeqs;
    } else {
      const erased = await eraseOfflineRows(
        session.connection,
        dataDir,
        env,
        sources,
        keys,
        options.signal,
      );
      offline = erased.sources;
      deletedSeqs = erased.firstSeqs;
      runningTotalsRemoved = erased.runningTotalsRemoved;
      // The erasure removed the sorted copies holding the rows; written again from what is left.
      for (const { source, rows } of erased.sources)
        if (rows > 0)
          await refreshSortedCopy(
            session.connection,
            offlineRoot(dataDir, env),
            registry,
            source,
          ).catch((error: unknown) => {
            warnings.push(
              `the sorted copy of "${source}" was not written again (${firstLine(error)}); training sets read its files until the next ingest or \`fstore compact\``,
            );
          });
      if (erased.notDeleted > 0)
        warnings.push(
          `${erased.notDeleted} replaced data file(s) could not be deleted; no reader reads them, and fstore doctor --fix removes them (they still hold the deleted rows)`,
        );
    }
  } finally {
    session.close();
  }
  if (!dryRun) faultPoint('delete:before-online');
  const quarantine = await eraseQuarantinedRows(dataDir, env, keys, dryRun);
  const eraseItems = () =>
    eraseOnlineItems(options.online.client, options.online.table, keys, dryRun);
  // A materialization that read the rows before the offline commit writes them back before
  // this, not after (it holds its view's lease until its last write).
  const online = dryRun
    ? await eraseItems()
    : await withMaterializationLeases(
        {
          client: options.online.client,
          table: options.online.table,
          registry,
          sources: new Set(sources.map((s) => s.name)),
          owner: `local-${process.pid}-delete-${randomBytes(4).toString('hex')}`,
          leaseMs: 5 * 60_000,
          maxWaitMs: options.materializationWaitMs ?? 5 * 60_000,
          isOwnerGone: options.isOwnerGone ?? localOwnerGone,
          ...(options.materializationPollMs !== undefined
            ? { pollMs: options.materializationPollMs }
            : {}),
          ...(options.onMaterializationWait ? { onWait: options.onMaterializationWait } : {}),
        },
        eraseItems,
      );
  const entry: ErasureAuditEntry = {
    kind: 'entity-delete',
    at: new Date().toISOString(),
    who: currentUser(),
    env,
    ...auditKeys(keys, await localAuditKey(dataDir, env)),
    offline,
    quarantine,
    online,
    runningTotalsRemoved,
    snapshotsAffected: (await snapshotPins(dataDir, env))
      .filter(({ pins }) =>
        [...deletedSeqs].some(([source, seq]) => (pins.get(source) ?? -1) >= seq),
      )
      .map(({ name }) => name),
  };
  const { kind: _kind, ...summary } = entry;
  if (dryRun) return { ...summary, dryRun, warnings };
  const auditFile = await appendErasureAudit(dataDir, env, entry);
  return { ...summary, dryRun, auditFile, warnings };
}
