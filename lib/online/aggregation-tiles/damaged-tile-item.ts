import { HintedError } from '../../hinted-error.ts';

/** What to do about a damaged tile item: fstore writes tile items only through pushes and runs. */
export const damagedTileItemHint =
  'fstore writes tile items only through pushes and materialization runs, so something else changed this one: restore it as it was (on AWS from the online table’s point-in-time recovery; locally from a backup of the store)';

/**
 * A tile item (a minute item, a block item) whose stored tiles, rows, base or base sequence do
 * not read back as fstore wrote them. Reading it again cannot mend it, so the sharded state
 * machine does not retry it (sharded-materialization.ts, permanentShardErrors) and a lookup
 * answers 500 naming the item (dependency-failure.ts). Named explicitly, as every error that
 * list names: a renamed class would silently leave it.
 */
export class DamagedTileItemError extends HintedError {
  override name = 'DamagedTileItemError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, damagedTileItemHint, options);
  }
}
