import type { MaterializationWait } from '../../erasure/materialization-leases.ts';
import type { CliContext } from '../context.ts';
import { plural } from '../plural.ts';

/** What a delete did to the quarantine and the online store, local or on AWS. */
interface QuarantineAndOnlineCounts {
  readonly dryRun: boolean;
  readonly quarantine: readonly { readonly rows: number }[];
  readonly online: readonly { readonly view: string; readonly items: number }[];
}

/** The quarantine and online lines of `fstore delete`'s summary, the same for both stores. */
export function printQuarantineAndOnline(ctx: CliContext, result: QuarantineAndOnlineCounts): void {
  const verb = result.dryRun ? 'would delete' : 'deleted';
  const quarantined = result.quarantine.reduce((n, q) => n + q.rows, 0);
  ctx.out.line(`quarantine: ${verb} ${plural(quarantined, 'row')}`);
  if (result.online.length === 0) ctx.out.line(`online: ${verb} 0 items`);
  for (const { view, items } of result.online)
    ctx.out.line(`online ${view}: ${verb} ${plural(items, 'item')}`);
}

/** The line naming the snapshots that held the deleted rows, the same for both stores. */
export function printSnapshotsAffected(ctx: CliContext, snapshots: readonly string[]): void {
  if (snapshots.length > 0)
    ctx.out.line(
      `snapshots holding these rows (training sets read as of them no longer reproduce exactly): ${snapshots.join(', ')}`,
    );
}

/** Says once per view that the delete waits for its running materialization. */
export function materializationWaitReporter(ctx: CliContext): (wait: MaterializationWait) => void {
  const waitedFor = new Set<string>();
  return (wait) => {
    if (waitedFor.has(wait.view)) return;
    waitedFor.add(wait.view);
    ctx.out.status(
      `waiting for the running materialization of view ${wait.view} (${wait.holder}, lease until ${wait.leaseUntil}) before deleting its items (at most 5 minutes) ...`,
    );
  };
}
