import { describe, expect, it } from 'vitest';
import { activityOf } from '../../../lib/cli/commands/status.ts';
import type { Checkpoint } from '../../../lib/materialize/materialization-state.ts';

const now = 1_800_000_000_000;
const checkpoint: Checkpoint = {
  runId: 'r1',
  startedAt: '2027-01-15T08:00:00.000Z',
  window: { until: '2027-01-15T08:00:00.000Z' },
  backfill: false,
  afterKey: ['C000300'],
  counts: { rowsRead: 300, written: 300, skippedAsOlder: 0, rejected: 0 },
};
const alive = () => false;
const gone = () => true;

describe('fstore status: what a view’s materialization is doing now', () => {
  it('is running while a live holder has an unexpired lease', () => {
    const lease = { owner: 'local-1-a', expiresAt: now + 60_000 };
    expect(activityOf({ lease, checkpoint }, now, alive)).toBe('running');
  });

  it('is interrupted, not running, when the lease’s local process is gone, even before the lease expires', () => {
    const lease = { owner: 'local-1-a', expiresAt: now + 60_000 };
    expect(activityOf({ lease, checkpoint }, now, gone)).toBe('interrupted');
    expect(activityOf({ lease }, now, gone)).toBe('interrupted');
  });

  it('is interrupted when a checkpoint is kept and no lease is held (a stopped or failed run)', () => {
    expect(activityOf({ checkpoint }, now, alive)).toBe('interrupted');
    expect(activityOf({ checkpoint, lease: { owner: 'x', expiresAt: now - 1 } }, now, alive)).toBe(
      'interrupted',
    );
  });

  it('is idle with no checkpoint and no live lease', () => {
    expect(activityOf({}, now, alive)).toBe('idle');
    expect(activityOf({ lease: { owner: 'x', expiresAt: now - 1 } }, now, alive)).toBe('idle');
  });

  it('uses the materializer’s own check of local owners by default: a pid that cannot run is gone', () => {
    const lease = { owner: 'local-2147483646-dead', expiresAt: now + 60_000 };
    expect(activityOf({ lease }, now)).toBe('interrupted');
    expect(
      activityOf({ lease: { owner: `local-${process.ppid}-x`, expiresAt: now + 60_000 } }, now),
    ).toBe('running');
  });
});
