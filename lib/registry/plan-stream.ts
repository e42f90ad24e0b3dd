import type { FieldChange } from './plan.ts';
import type { RegistrySource } from './registry-schema.ts';
import { stableStringify } from './stable-json.ts';

type Stream = NonNullable<RegistrySource['stream']>;

const created = (stream: Stream | undefined) => stream !== undefined && 'create' in stream.kinesis;

/**
 * How a source's `stream` changed: declaring one is safe (a new stream or a new reader);
 * dropping or replacing a stream fstore created is breaking (the stack deletes it, unread records
 * included, and producers writing to it fail); resharding or a new retention is done in place.
 */
export function streamChanges(before: RegistrySource, after: RegistrySource): FieldChange[] {
  const from = before.stream;
  const to = after.stream;
  if (stableStringify(from ?? null, 0) === stableStringify(to ?? null, 0)) return [];
  const change = { field: 'stream', ...(from ? { from } : {}), ...(to ? { to } : {}) };
  if (!from)
    return [
      {
        ...change,
        action: 'add',
        level: 'safe',
        reason: created(to)
          ? 'creates a Kinesis stream whose records are written to the online views'
          : 'reads an existing Kinesis stream into the online views',
      },
    ];
  if (created(from) && !created(to))
    return [
      {
        ...change,
        action: to ? 'change' : 'remove',
        level: 'breaking',
        reason:
          'the stream fstore created is deleted with its unread records (kept only in stages that retain data); producers writing to it fail',
      },
    ];
  if (!to)
    return [
      {
        ...change,
        action: 'remove',
        level: 'safe',
        reason: 'the existing stream is no longer read; it is not deleted',
      },
    ];
  return [
    {
      ...change,
      action: 'change',
      level: 'safe',
      reason: created(to)
        ? created(from)
          ? 'the stream is resharded or its retention changed in place'
          : 'a new stream is created and read instead of the existing one; producers must write to it'
        : 'another existing stream is read instead',
    },
  ];
}
