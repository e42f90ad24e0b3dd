import { describe, expect, it } from 'vitest';
import { ingestFile } from '../../lib/offline/ingest.ts';
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

/** A push of one row for `customer`; `pushId` names the push (as an Idempotency-Key's scope does). */
function pushOffline(dataDir: string, customer: string, pushId?: string) {
  return executePush(
    {
      registry,
      now: () => Date.parse('2026-03-01T12:00:00Z'),
      offline: async (pushed, valid, push) => {
        await appendPushLog(dataDir, 'local', pushed, valid, push.pushId);
      },
    },
    defaultPushLimits,
    'payments',
    { rows: [paymentRow(at, { customer_id: customer })], to: 'offline' },
    pushId === undefined ? undefined : { pushId },
  );
}

async function storedRows(dataDir: string): Promise<number> {
  const manifest = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
  return manifest.filter((r) => r.source === 'payments').reduce((sum, r) => sum + r.rows, 0);
}

const pushA = 'a'.repeat(32);

describe('a push run again (the same push id) lands offline once', () => {
  it('when the first was ingested in a batch before the retry came', async () => {
    const dataDir = await makeTempDir('push-retry-later');
    await pushOffline(dataDir, 'A', pushA);
    await pushOffline(dataDir, 'B');
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 2, rows: 2 },
    ]);
    await pushOffline(dataDir, 'A', pushA); // the retry
    await pushOffline(dataDir, 'C');
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 1, alreadyIngested: 1, rows: 1 },
    ]);
    expect(await storedRows(dataDir)).toBe(3);
    expect(await pendingPushLogs(dataDir, 'local', 'payments')).toEqual([]);
  });

  it('when both wait in the same round', async () => {
    const dataDir = await makeTempDir('push-retry-same');
    await pushOffline(dataDir, 'A', pushA);
    await pushOffline(dataDir, 'A', pushA);
    await pushOffline(dataDir, 'B');
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 2, alreadyIngested: 1, rows: 2 },
    ]);
    expect(await storedRows(dataDir)).toBe(2);
    expect(await pendingPushLogs(dataDir, 'local', 'payments')).toEqual([]);
  });

  it('when the first was ingested alone and the run died before recording it', async () => {
    const dataDir = await makeTempDir('push-retry-crash');
    await pushOffline(dataDir, 'A', pushA);
    const [first] = await pendingPushLogs(dataDir, 'local', 'payments');
    // What a run killed after the log's commit leaves: committed, the log still there, no ledger.
    await ingestFile({
      registry,
      dataDir,
      env: 'local',
      source: 'payments',
      file: first as string,
      skipBatchQualityRules: true,
    });
    await pushOffline(dataDir, 'A', pushA);
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 0, alreadyIngested: 2, rows: 0 },
    ]);
    expect(await storedRows(dataDir)).toBe(1);
  });
});

describe('two pushes without a key are two pushes, whatever their rows', () => {
  it('equal rows pushed twice land twice, in the same round or not', async () => {
    const dataDir = await makeTempDir('push-equal-rows');
    await pushOffline(dataDir, 'A');
    await pushOffline(dataDir, 'A');
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 2, alreadyIngested: 0, rows: 2 },
    ]);
    await pushOffline(dataDir, 'A');
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 1, alreadyIngested: 0, rows: 1 },
    ]);
    expect(await storedRows(dataDir)).toBe(3);
  });
});
