import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../../lib/materialize/materialization-state.ts';
import { viewQualityIssues } from '../../../lib/materialize/materialize-view.ts';
import type { RegistryFeatureView } from '../../../lib/registry/index.ts';

const view = {
  name: 'checked',
  features: [{ name: 'spend' }],
  quality: { minRows: 10, maxNullPercent: 20 },
} as unknown as RegistryFeatureView;

function run(kind: 'full' | 'incremental' | 'lateness', rowsRead: number, nulls = 0): Checkpoint {
  return {
    runId: 'r1',
    startedAt: '2026-11-30T00:00:00Z',
    window: { until: '2026-11-30T00:00:00Z' },
    backfill: false,
    scope: { kind },
    counts: { rowsRead, written: rowsRead, skippedAsOlder: 0, rejected: 0 },
    nullCounts: { spend: nulls },
  };
}

describe('the quality rules a materialization run reports', () => {
  it('reports too few rows for a run that reads the whole data', () => {
    expect(viewQualityIssues(view, run('full', 5))).toEqual(['min rows 10: the run read 5']);
    expect(viewQualityIssues(view, run('lateness', 0))).toEqual(['min rows 10: the run read 0']);
  });

  it('does not report too few rows for an incremental run, which reads only what is new', () => {
    expect(viewQualityIssues(view, run('incremental', 0))).toEqual([]);
    expect(viewQualityIssues(view, run('incremental', 3))).toEqual([]);
  });

  it('still reports too many NULLs among the rows an incremental run read', () => {
    expect(viewQualityIssues(view, run('incremental', 4, 2))).toEqual([
      'spend max null 20%: 50.00% null (2 of 4 rows)',
    ]);
  });
});
