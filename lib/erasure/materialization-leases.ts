import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HintedError } from '../hinted-error.ts';
import {
  MaterializationBusyError,
  MaterializationStateStore,
} from '../materialize/materialization-state.ts';
import type { Registry } from '../registry/index.ts';

/** Named explicitly: bundles are minified, which renames classes. */
export class MaterializationLeaseError extends HintedError {
  override name = 'MaterializationLeaseError';
}

/** A view whose materialization lease another holder has: reported while the delete waits. */
export interface MaterializationWait {
  readonly view: string;
  readonly holder: string;
  /** The holder's lease end (ISO time). */
  readonly leaseUntil: string;
  readonly waitedMs: number;
}

export interface MaterializationLeaseOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly registry: Registry;
  /** Sources the delete removed rows from: the online views reading them are held. */
  readonly sources: ReadonlySet<string>;
  /** This delete's lease owner (a local one starts `local-<pid>-`, as materialize's do). */
  readonly owner: string;
  readonly leaseMs: number;
  /** How long to wait in all for running materializations to finish before giving up. */
  readonly maxWaitMs: number;
  readonly pollMs?: number;
  readonly onWait?: (wait: MaterializationWait) => void;
  /** A holder no longer running (a killed local process): taken over at once. */
  readonly isOwnerGone?: (owner: string) => boolean;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The online views of `sources`, in a fixed order (so two deletes take their leases alike). */
export function viewsOfSources(
  registry: Registry,
  sources: ReadonlySet<string>,
): { readonly name: string; readonly keyPrefix: string }[] {
  return (registry.featureViews ?? [])
    .filter((v) => v.online && sources.has(v.source))
    .map((v) => ({ name: v.name, keyPrefix: v.onlineStore.keyPrefix }))
    .sort((a, b) => a.keyPrefix.localeCompare(b.keyPrefix));
}

/**
 * Runs `work` (deleting the online items) holding the materialization lease of every online
 * view reading an affected source, and gives them back after. A materialization that read the
 * offline rows before the delete's commit holds its view's lease until its last write, so the
 * items are deleted after that write, not before it. A held lease is waited for, reported by
 * `onWait`, up to `maxWaitMs` in all; then MaterializationLeaseError names the holder, and
 * the leases this delete took are given back.
 */
export async function withMaterializationLeases<T>(
  options: MaterializationLeaseOptions,
  work: () => Promise<T>,
): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  const held: MaterializationStateStore[] = [];
  const releaseAll = async () => {
    for (const store of held.reverse())
      await store.releaseLease(options.owner).catch(() => undefined);
  };
  try {
    for (const view of viewsOfSources(options.registry, options.sources)) {
      const store = new MaterializationStateStore(
        options.client,
        options.table,
        view.keyPrefix,
        now,
      );
      for (;;) {
        try {
          await store.acquire(options.owner, options.leaseMs, options.isOwnerGone);
          held.push(store);
          break;
        } catch (error) {
          if (!(error instanceof MaterializationBusyError)) throw error;
          // No lease read: given back between the two calls (the next try takes it).
          const { lease } = await store.read();
          const wait = {
            view: view.name,
            holder: lease?.owner ?? 'a holder that has just given it back',
            leaseUntil: lease ? new Date(lease.expiresAt).toISOString() : 'now',
            waitedMs: now() - started,
          };
          if (wait.waitedMs >= options.maxWaitMs)
            throw new MaterializationLeaseError(
              `the materialization of view "${view.name}" is held by ${wait.holder} (lease until ${wait.leaseUntil}) after waiting ${Math.round(wait.waitedMs / 1000)} s; the offline rows are deleted, the online items of the keys are not`,
              'run the same delete again once that materialization has finished (fstore status shows it; a killed run’s lease ends by itself at the time above): the rerun finds no offline row and deletes the items',
              { cause: error },
            );
          options.onWait?.(wait);
          await sleep(
            Math.min(options.pollMs ?? 2000, Math.max(0, options.maxWaitMs - wait.waitedMs)),
          );
        }
      }
    }
    return await work();
  } finally {
    await releaseAll();
  }
}
