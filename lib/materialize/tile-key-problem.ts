import { checkTilePrefix } from '../online/aggregation-tiles/tile-items.ts';
import { EntityKeyError, encodeEntityKey, partitionKey } from '../online/entity-key.ts';
import { int64KeysAsBigint } from '../online/integer-join-keys.ts';
import type { RuntimeFeatureView } from '../registry/runtime-projection.ts';

/**
 * Why the tile items of a tile-fed view cannot be keyed for the entity of a materialized row,
 * or undefined when they can (and for views without `onlineTiles`). The view's own item may fit
 * DynamoDB's partition key limit where its tile items (up to 33 bytes longer) do not: such a row
 * is quarantined, as pushes and lookups of the entity are refused, instead of failing every run.
 */
export function tileKeyProblem(
  view: RuntimeFeatureView,
  row: Readonly<Record<string, unknown>>,
): string | undefined {
  if (!view.onlineTiles) return undefined;
  try {
    const entityKey = encodeEntityKey(view.joinKeys, int64KeysAsBigint(view.joinKeys, row));
    checkTilePrefix(partitionKey(view.onlineStore.keyPrefix, entityKey));
    return undefined;
  } catch (error) {
    if (error instanceof EntityKeyError) return error.message;
    throw error;
  }
}
