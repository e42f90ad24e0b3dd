import { ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { inParallel } from '../../bounded-pool.ts';
import { faultPoint } from '../../fault-injection.ts';
import { itemAttributes } from '../item-codec.ts';
import { type BaseClear, planBaseWrites } from './base-plan.ts';
import { type BaseItem, type BaseRow, baseItemsOf, baseSeqAttribute } from './base-tiles.ts';
import { readStoredBases } from './stored-bases.ts';
import { blockMicros } from './tile-items.ts';
import { dayMicros } from './tile-sizes.ts';
import { expiresAt, renewWriteToken, type TileWriteTarget } from './write-row-tiles.ts';

/** What materialization did to one entity's base tiles. */
export interface BaseWriteCounts {
  /** Items whose base this run set. */
  readonly written: number;
  /** Items holding a base of this sequence or a newer one: left as they are. */
  readonly alreadyNewer: number;
  /** Items already holding this run's base at an older sequence: left as they are. */
  readonly unchanged?: number;
  /** Items whose stored base this run's base no longer covers: their base removed. */
  readonly cleared?: number;
}

/**
 * Sets the base of one entity's tile items (ADR 0020, "Scheduled materialization") from its
 * offline rows at sequence `seq` (every row with `fstore_seq <= seq` not from a push, dated
 * after `now - widest window`), then renews the entity's write token so serving processes drop
 * the items they cached. It reads the entity's stored bases first (stored-bases.ts: the items
 * of the new base and every item the stored base covers after `now - widest window`) and
 * writes only what differs: an item whose base text is new, and the removal of a stored base
 * the new one no longer covers (rows erased or no longer the base's). Each write is
 * conditional: a base is replaced or removed only if the item holds none or one computed at an
 * older sequence, so a rerun changes nothing and an older run never undoes a newer one's
 * writes; the attributes pushes write (`ver`, `s`, `r`, the block's tile entries) are neither
 * read nor touched, so a push between the read and the writes changes nothing here. The token
 * is renewed whenever the entity has a stored or new base, also when nothing was written: a
 * run that died before renewing it is completed by the next. `beforeToken` is a test hook (a
 * failure there); crash tests kill the process there with
 * `FSTORE_FAULT=materialize:tiles-before-token`.
 */
export async function writeBaseTiles(
  target: TileWriteTarget,
  rows: readonly BaseRow[],
  seq: bigint,
  options: {
    readonly concurrency?: number;
    readonly beforeToken?: () => void;
    /** The run's instant (epoch ms; default the clock): bases ending before its widest window are left alone. */
    readonly nowMs?: number;
  } = {},
): Promise<BaseWriteCounts> {
  const items = baseItemsOf(rows, target.sumKinds);
  const nowMicros = BigInt(options.nowMs ?? Date.now()) * 1000n;
  const stored = await readStoredBases(target, items, {
    fromMicros: nowMicros - BigInt(target.widestWindowSeconds) * 1_000_000n,
    // Rows dated up to two 32-day blocks ahead of the run are found when they leave the base.
    untilMicros: nowMicros + 2n * blockMicros(dayMicros),
  });
  if (items.length === 0 && stored.size === 0) return { written: 0, alreadyNewer: 0 };
  const plan = planBaseWrites(items, stored, seq);
  const concurrency = options.concurrency ?? 8;
  let cleared = 0;
  // A failed write stops the others from starting: the run fails, nothing writes on behind it.
  for (const level of plan.clears)
    await inParallel(level, concurrency, async (clear) => {
      if (await clearBaseItem(target, clear, seq)) cleared++;
    });
  let written = 0;
  let alreadyNewer = plan.alreadyNewer + plan.clears.flat().length - cleared;
  for (const level of plan.writes)
    await inParallel(level, concurrency, async (item) => {
      if (await writeBaseItem(target, item, seq)) written++;
      else alreadyNewer++;
    });
  options.beforeToken?.();
  faultPoint('materialize:tiles-before-token');
  let newest: bigint | undefined;
  for (const row of rows)
    if (newest === undefined || row.eventMicros > newest) newest = row.eventMicros;
  for (const item of stored.values())
    if (newest === undefined || item.endMicros - 1n > newest) newest = item.endMicros - 1n;
  await renewWriteToken(target, newest as bigint);
  return { written, alreadyNewer, unchanged: plan.unchanged, cleared };
}

async function writeBaseItem(target: TileWriteTarget, item: BaseItem, seq: bigint) {
  return conditional(
    new UpdateItemCommand({
      TableName: target.table,
      Key: { [itemAttributes.key]: { S: target.prefix + item.suffix } },
      UpdateExpression: 'SET #base = :base, #bs = :seq, #exp = :exp',
      ConditionExpression: 'attribute_not_exists(#bs) OR #bs < :seq',
      ExpressionAttributeNames: {
        '#base': item.attribute,
        '#bs': baseSeqAttribute,
        '#exp': itemAttributes.expiresAt,
      },
      ExpressionAttributeValues: {
        ':base': { S: item.text },
        ':seq': { N: seq.toString() },
        ':exp': { N: expiresAt(item.endMicros, target) },
      },
    }),
    target,
  );
}

/**
 * Removes a stale base, leaving `bs` at `seq` so an older run cannot put it back. The item must
 * hold an older base (`bs < :seq` is false on an item without one): an item erased meanwhile
 * is not created again.
 */
async function clearBaseItem(target: TileWriteTarget, clear: BaseClear, seq: bigint) {
  return conditional(
    new UpdateItemCommand({
      TableName: target.table,
      Key: { [itemAttributes.key]: { S: target.prefix + clear.suffix } },
      UpdateExpression: 'REMOVE #base SET #bs = :seq',
      ConditionExpression: '#bs < :seq',
      ExpressionAttributeNames: { '#base': clear.attribute, '#bs': baseSeqAttribute },
      ExpressionAttributeValues: { ':seq': { N: seq.toString() } },
    }),
    target,
  );
}

async function conditional(command: UpdateItemCommand, target: TileWriteTarget) {
  try {
    await target.client.send(command);
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
