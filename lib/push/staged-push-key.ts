import { microsOfMillis } from '../epoch-micros.ts';
import { pushStamp } from './push-stamp.ts';

/**
 * A staged push's place in the ingest order on AWS (`fstore_push_key`, ADR 0020 "Ties for
 * `last`"): the push time, the millisecond its online items and tiles take their clock sequence
 * from, stamped as a push log's name is, then the push id. Compaction commits a batch's rows in
 * this order, so of two pushes tied on event and created time the one with the later clock
 * gets the higher `fstore_seq`, as it ranks online; two pushes in one millisecond by their ids.
 */
export function stagedPushKey(pushedAtMs: number, pushId: string): string {
  return `${pushStamp(microsOfMillis(pushedAtMs))}-${pushId}`;
}
