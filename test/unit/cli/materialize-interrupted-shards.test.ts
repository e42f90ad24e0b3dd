import { describe, expect, it } from 'vitest';
import { interruptedMaterialization } from '../../../lib/cli/commands/materialize.ts';
import type { MaterializeViewResult } from '../../../lib/materialize/materialize-view.ts';

const stopped = (extra: Partial<MaterializeViewResult>): MaterializeViewResult => ({
  view: 'customer_profile',
  runId: 'r1',
  status: 'paused',
  resumed: false,
  window: { until: '2026-03-01T00:00:00Z' },
  counts: { rowsRead: 1200, written: 1100, skippedAsOlder: 0, rejected: 0 },
  durationMs: 1,
  ...extra,
});

describe('the message of a stopped materialization', () => {
  it('says a sharded run checkpointed in each shard, with its rows (it has no single resume key)', () => {
    const error = interruptedMaterialization(
      'SIGTERM',
      [stopped({ shards: { count: 4, ran: [0, 1, 2, 3], alreadyDone: [] } })],
      ['customer_profile'],
      'run `fstore materialize` to resume',
    );
    expect(error.message).toContain(
      'customer_profile checkpointed in each of its 4 shards, 1,100 rows written (1,200 read) in this run',
    );
    expect(error.message).not.toContain('before its first checkpoint');
  });

  it('names the resume key of a run with one writer', () => {
    const error = interruptedMaterialization(
      'SIGINT',
      [stopped({ resumeAfter: ['C0042'] })],
      ['customer_profile'],
      'again',
    );
    expect(error.message).toContain('customer_profile checkpointed at key C0042');
  });
});
