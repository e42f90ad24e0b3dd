import { describe, expect, it } from 'vitest';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { appendPushLog, pendingPushLogs } from '../../lib/push/push-log.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
const at = '2026-03-01T11:00:00Z';

function pushOffline(dataDir: string, customer: string) {
  return executePush(
    {
      registry,
      now: () => Date.parse('2026-03-01T12:00:00Z'),
      offline: async (pushed, valid) => {
        await appendPushLog(dataDir, 'local', pushed, valid);
      },
    },
    defaultPushLimits,
    'payments',
    { rows: [paymentRow(at, { customer_id: customer })], to: 'offline' },
  );
}

async function storedRows(dataDir: string): Promise<number> {
  const manifest = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
  return manifest.filter((r) => r.source === 'payments').reduce((sum, r) => sum + r.rows, 0);
}

describe('a retried push (the same rows again) lands offline once', () => {
  it('when the first was ingested in a batch before the retry came', async () => {
    const dataDir = await makeTempDir('push-retry-later');
    await pushOffline(dataDir, 'A');
    await pushOffline(dataDir, 'B');
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 2, rows: 2 },
    ]);
    await pushOffline(dataDir, 'A'); // the retry
    await pushOffline(dataDir, 'C');
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 1, alreadyIngested: 1, rows: 1 },
    ]);
    expect(await storedRows(dataDir)).toBe(3);
    expect(await pendingPushLogs(dataDir, 'local', 'payments')).toEqual([]);
  });

  it('when both wait in the same round', async () => {
    const dataDir = await makeTempDir('push-retry-same');
    await pushOffline(dataDir, 'A');
    await pushOffline(dataDir, 'A');
    await pushOffline(dataDir, 'B');
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 2, alreadyIngested: 1, rows: 2 },
    ]);
    expect(await storedRows(dataDir)).toBe(2);
    expect(await pendingPushLogs(dataDir, 'local', 'payments')).toEqual([]);
  });
});
