import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { appendPushLog, pendingPushLogs, pushLogDir } from '../../lib/push/push-log.ts';
import { validatePushRows } from '../../lib/push/validate-push-rows.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
const at = '2026-03-01T11:00:00Z';

/** A log as an fstore before push ids named it: `<stamp>-<12 hex>.jsonl`. */
async function legacyLog(dataDir: string, customer: string, suffix: string): Promise<string> {
  const source = registry.sources.find((s) => s.name === 'payments');
  if (!source) throw new Error('no payments source');
  const rows = validatePushRows(registry, source, [paymentRow(at, { customer_id: customer })], {
    nowMicros: epochMicrosOf('2026-03-01T12:00:00Z'),
    maxFutureSkewSeconds: 300,
  });
  const written = await appendPushLog(dataDir, 'local', source, rows);
  const legacy = path.join(
    path.dirname(written),
    `20260301T110000.00000${suffix}-0123456789ab.jsonl`,
  );
  await rename(written, legacy);
  return legacy;
}

async function storedRows(dataDir: string): Promise<number> {
  const manifest = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
  return manifest.filter((r) => r.source === 'payments').reduce((sum, r) => sum + r.rows, 0);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('push logs written before push ids', () => {
  it('are ingested, each once', async () => {
    const dataDir = await makeTempDir('push-legacy');
    await legacyLog(dataDir, 'L1', '1');
    await legacyLog(dataDir, 'L1', '2');
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 2, alreadyIngested: 0, rows: 2 },
    ]);
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toEqual([]);
  });

  it('listed by content in the older ledger of batched logs (a run killed mid-removal) are removed, not ingested', async () => {
    const dataDir = await makeTempDir('push-legacy-ledger');
    const log = await legacyLog(dataDir, 'L2', '1');
    await writeFile(
      path.join(pushLogDir(dataDir, 'local', 'payments'), '_batched-logs.txt'),
      `${JSON.stringify({ sha256: sha256(await readFile(log, 'utf8')), at: new Date().toISOString() })}\n`,
    );
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 0, alreadyIngested: 1, rows: 0 },
    ]);
    expect(await pendingPushLogs(dataDir, 'local', 'payments')).toEqual([]);
  });

  it('in a batch an older fstore committed and was killed before removing (logs.json a list, rows.jsonl) are removed, not ingested', async () => {
    const dataDir = await makeTempDir('push-legacy-batch');
    const first = await legacyLog(dataDir, 'L3', '1');
    const second = await legacyLog(dataDir, 'L4', '2');
    const batch = path.join(pushLogDir(dataDir, 'local', 'payments'), '_batch');
    await mkdir(batch, { recursive: true });
    await writeFile(
      path.join(batch, 'logs.json'),
      JSON.stringify([path.basename(first), path.basename(second)]),
    );
    const rows = path.join(batch, 'rows.jsonl');
    await writeFile(rows, `${await readFile(first, 'utf8')}${await readFile(second, 'utf8')}`);
    await ingestFile({ registry, dataDir, env: 'local', source: 'payments', file: rows });
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toMatchObject([
      { ingested: 0, alreadyIngested: 2, rows: 0 },
    ]);
    expect(await storedRows(dataDir)).toBe(2);
    expect(await pendingPushLogs(dataDir, 'local', 'payments')).toEqual([]);
  });
});
