import { describe, expect, it } from 'vitest';
import { defineSource, type SourceInput } from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { planRegistryChanges } from '../../../lib/registry/plan.ts';

const arn = 'arn:aws:kinesis:eu-west-1:123456789012:stream/clicks';
const registry = (stream?: SourceInput['stream']) =>
  compileRegistry([
    {
      definition: defineSource({
        name: 'clicks',
        schema: { user_id: 'string', event_ts: 'timestamp' },
        timestampField: 'event_ts',
        ...(stream ? { stream } : {}),
      }),
    },
  ]);
const streamChange = (before?: SourceInput['stream'], after?: SourceInput['stream']) =>
  planRegistryChanges(registry(before), registry(after))
    .changes.find((c) => c.name === 'clicks')
    ?.fields.find((f) => f.field === 'stream');

describe('fstore plan of a source stream', () => {
  it('shows a new stream as a safe addition with what it becomes', () => {
    expect(streamChange(undefined, { kinesis: { create: true, shards: 2 } })).toEqual({
      field: 'stream',
      action: 'add',
      to: { kinesis: { create: true, shards: 2, retentionHours: 24 } },
      level: 'safe',
      reason: 'creates a Kinesis stream whose records are written to the online views',
    });
    expect(streamChange(undefined, { kinesis: { streamArn: arn } })).toMatchObject({
      action: 'add',
      level: 'safe',
    });
  });

  it('reshards a created stream in place: safe, from and to shown', () => {
    expect(
      streamChange(
        { kinesis: { create: true } },
        { kinesis: { create: true, shards: 'on-demand' } },
      ),
    ).toMatchObject({
      action: 'change',
      level: 'safe',
      from: { kinesis: { shards: 1 } },
      to: { kinesis: { shards: 'on-demand' } },
    });
  });

  it('calls dropping or replacing a created stream breaking (the stack deletes it)', () => {
    expect(streamChange({ kinesis: { create: true } }, undefined)).toMatchObject({
      action: 'remove',
      level: 'breaking',
      reason: expect.stringContaining('deleted with its unread records'),
    });
    expect(
      streamChange({ kinesis: { create: true } }, { kinesis: { streamArn: arn } }),
    ).toMatchObject({ action: 'change', level: 'breaking' });
    expect(
      planRegistryChanges(registry({ kinesis: { create: true } }), registry()).hasBreaking,
    ).toBe(true);
  });

  it('lets an existing stream go without deleting it: safe', () => {
    expect(streamChange({ kinesis: { streamArn: arn } }, undefined)).toMatchObject({
      action: 'remove',
      level: 'safe',
      reason: 'the existing stream is no longer read; it is not deleted',
    });
  });

  it('shows nothing when the stream is unchanged', () => {
    expect(streamChange({ kinesis: { create: true } }, { kinesis: { create: true } })).toBe(
      undefined,
    );
  });
});
