import { createHash } from 'node:crypto';
import { microsOfMillis } from '../epoch-micros.ts';
import { pushIdPattern } from './push-id.ts';
import { pushStamp } from './push-stamp.ts';

/**
 * A staged push's place in the ingest order on AWS (`fstore_push_key`, ADR 0020 "Ties for
 * `last`"): the push time, the millisecond its online items take their clock sequence from,
 * stamped as a push log's name is, then the push id (a stream record's `kinesis-...` id as 32
 * hex of its SHA-256, so every key has a log key's form, `<stamp>-<hex>`). Compaction commits a
 * batch's rows in this order and names each push's first row and key in its commit record
 * (`pushLogs`); the push's tile rows carry it as their `pushLog`, so `last` orders them on a
 * full tie as their commit will, as a local push log's key does.
 */
export function stagedPushKey(pushedAtMs: number, pushId: string): string {
  const id = pushIdPattern.test(pushId)
    ? pushId
    : createHash('sha256').update(pushId).digest('hex').slice(0, 32);
  return `${pushStamp(microsOfMillis(pushedAtMs))}-${id}`;
}
