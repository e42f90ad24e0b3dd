import { mkdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ingestedPushIds, recordIngestedPushes } from '../../lib/push/ingested-log-ledger.ts';
import { maxIdempotencyExpirySeconds } from '../../lib/push/push-idempotency-table.ts';
import { pushLogDir } from '../../lib/push/push-log.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const hourMs = 3_600_000;
const t0 = Date.parse('2026-03-01T00:00:00Z');
const keyed = 'f'.repeat(32);
const others = Array.from({ length: 50 }, (_, i) => i.toString(16).padStart(32, '0'));

/** A ledger past its size threshold (injected small) when `others` are recorded at `laterMs`. */
async function ledgerAfter(laterMs: number): Promise<Set<string>> {
  const dataDir = await makeTempDir('ledger-prune');
  await mkdir(pushLogDir(dataDir, 'local', 'payments'), { recursive: true });
  await recordIngestedPushes(dataDir, 'local', 'payments', [keyed], t0);
  await recordIngestedPushes(dataDir, 'local', 'payments', others, laterMs, {
    pruneAboveBytes: 1_000,
  });
  return ingestedPushIds(dataDir, 'local', 'payments');
}

describe('the ingested-push ledger prune', () => {
  it('keeps a push id while a key of the longest expiry can still be retried after a push that died in progress', async () => {
    expect(maxIdempotencyExpirySeconds).toBe(86_400);
    // The key's record expires a day after the push's end, which may follow its ingest by the
    // in-progress hold (a push that died after writing its log).
    const ids = await ledgerAfter(t0 + 24 * hourMs + 10 * 60_000);
    expect(ids.has(keyed)).toBe(true);
    expect(ids.has(others[0] as string)).toBe(true);
  });

  it('drops push ids older than any key can be once the ledger passes its size', async () => {
    const ids = await ledgerAfter(t0 + 26 * hourMs);
    expect(ids.has(keyed)).toBe(false);
    expect(ids.size).toBe(others.length);
  });
});
