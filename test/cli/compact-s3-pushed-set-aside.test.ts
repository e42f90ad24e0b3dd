import { beforeEach, describe, expect, it } from 'vitest';
import { defaultMaxSetAsidePerRun } from '../../lib/offline/push-ingest-run.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('compact-s3-pushed-set-aside');
beforeEach(() => fixture.bucket.objects.clear());

const stagedKey = (n: number) =>
  `offline/_push/orders/arrived=2026-03-01/fstore-dev-push-orders-1-2026-03-01-12-${String(n).padStart(2, '0')}-00.parquet`;
const staged = () =>
  [...fixture.bucket.objects.keys()].filter((k) => k.startsWith('offline/_push/orders/arrived='));
const refused = () =>
  [...fixture.bucket.objects.keys()].filter(
    (k) => k.startsWith('offline/_push/orders/_refused/') && k.endsWith('.parquet'),
  );

const compact = (json: boolean) => fixture.compact(json ? ['--json'] : [], { NO_COLOR: '1' });

/** Every staged object refused (not Parquet) but the last, a good one. */
async function stageRefusedThenGood(refusedCount: number): Promise<void> {
  for (let n = 0; n < refusedCount; n++)
    fixture.bucket.objects.set(stagedKey(n), Buffer.from('not parquet'));
  fixture.bucket.objects.set(
    stagedKey(refusedCount),
    await fixture.stagedParquet([
      { orderId: 'O1', pushId: 'p1', row: 0, amount: 1.5, created: false },
    ]),
  );
}

describe('fstore compact --env <aws> with every staged object refused', () => {
  const cap = defaultMaxSetAsidePerRun;

  it(`sets aside ${cap} per run, then stops the source's push ingest (setAsideCapReached); the next run takes the rest`, async () => {
    await stageRefusedThenGood(cap + 2);
    const first = await compact(true);
    expect(first.code, first.stderr).toBe(0);
    const pushed = JSON.parse(first.stdout).sources[0].pushed;
    expect(pushed).toMatchObject({ objects: 0, setAsideCapReached: true });
    expect(pushed.refused).toHaveLength(cap);
    expect(refused()).toHaveLength(cap);
    expect(staged()).toHaveLength(3);

    const second = await compact(true);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).sources[0].pushed).toMatchObject({ objects: 1, rows: 1 });
    expect(JSON.parse(second.stdout).sources[0].pushed.setAsideCapReached).toBeUndefined();
    expect(staged()).toEqual([]);
  });

  it('says so on stderr', async () => {
    await stageRefusedThenGood(cap + 1);
    const run = await compact(false);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      new RegExp(
        `orders: ${cap} staged objects set aside this run, the most one run sets aside; the rest stay staged`,
      ),
    );
    expect(staged()).toHaveLength(2);
  });
});
