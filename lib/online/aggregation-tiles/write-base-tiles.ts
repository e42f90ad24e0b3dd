import { ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { inParallel } from '../../bounded-pool.ts';
import { faultPoint } from '../../fault-injection.ts';
import { itemAttributes } from '../item-codec.ts';
import { type BaseItem, type BaseRow, baseItemsOf, baseSeqAttribute } from './base-tiles.ts';
import { expiresAt, renewWriteToken, type TileWriteTarget } from './write-row-tiles.ts';

/** What materialization did to one entity's base tiles. */
export interface BaseWriteCounts {
  /** Items whose base this run set. */
  readonly written: number;
  /** Items holding a base of this sequence or a newer one: left as they are. */
  readonly alreadyNewer: number;
}

/**
 * Sets the base of one entity's tile items (ADR 0020, "Scheduled materialization") from its
 * offline rows at sequence `seq` (every row with `fstore_seq <= seq` not from a push), then
 * renews the entity's write token so serving processes drop the items they cached. Each item
 * is one conditional write: its base is replaced only if it holds none or one computed at an
 * older sequence, so a rerun changes nothing and an older run never undoes a newer one; the
 * attributes pushes write (`ver`, `s`, `r`, the block's tile entries) are not touched. The
 * token is renewed also when every write found a newer base: a run that died before renewing
 * it is completed by the next. `beforeToken` is a test hook (a failure there); crash tests kill
 * the process there with `FSTORE_FAULT=materialize:tiles-before-token`.
 */
export async function writeBaseTiles(
  target: TileWriteTarget,
  rows: readonly BaseRow[],
  seq: bigint,
  options: { readonly concurrency?: number; readonly beforeToken?: () => void } = {},
): Promise<BaseWriteCounts> {
  if (rows.length === 0) return { written: 0, alreadyNewer: 0 };
  const items = baseItemsOf(rows, target.sumKinds);
  let written = 0;
  let alreadyNewer = 0;
  // A failed write stops the others from starting: the run fails, nothing writes on behind it.
  await inParallel(items, options.concurrency ?? 8, async (item) => {
    if (await writeBaseItem(target, item, seq)) written++;
    else alreadyNewer++;
  });
  options.beforeToken?.();
  faultPoint('materialize:tiles-before-token');
  let newest = rows[0]?.eventMicros as bigint;
  for (const row of rows) if (row.eventMicros > newest) newest = row.eventMicros;
  await renewWriteToken(target, newest);
  return { written, alreadyNewer };
}

async function writeBaseItem(target: TileWriteTarget, item: BaseItem, seq: bigint) {
  try {
    await target.client.send(
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
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
