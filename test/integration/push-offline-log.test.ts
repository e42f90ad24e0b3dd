import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { appendPushLog, pendingPushLogs, pushLogDir } from '../../lib/push/push-log.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir, repoRoot } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
const at = '2026-03-01T11:00:00Z';

async function pushOffline(dataDir: string, rows: Record<string, unknown>[]) {
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
    { rows, to: 'offline' },
  );
}

describe('the local push log (offline half of a push)', () => {
  it('stores rows durably before answering, and compaction makes them part of the offline store once', async () => {
    const dataDir = await makeTempDir('push-log');
    const answer = await pushOffline(dataDir, [
      paymentRow(at, { customer_id: 'L1', amount: 3 }),
      paymentRow(at, { customer_id: 'L2', amount: 4, account_id: '9007199254740993' }),
    ]);
    expect(answer).toMatchObject({ rows: 2, to: 'offline', offline: { rows: 2 } });
    expect(answer).not.toHaveProperty('online');
    const [log] = await pendingPushLogs(dataDir, 'local', 'payments');
    expect((await readFile(log as string, 'utf8')).trim().split('\n')).toHaveLength(2);
    expect(await readFile(log as string, 'utf8')).toContain('"account_id":"9007199254740993"');
    const [first] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(first).toEqual({
      source: 'payments',
      ingested: 1,
      alreadyIngested: 0,
      rows: 2,
      failed: [],
      temporariesRemoved: 0,
    });
    expect(await pendingPushLogs(dataDir, 'local', 'payments')).toEqual([]);
    expect(await compactPushLogs({ registry, dataDir, env: 'local' })).toEqual([]);
    const manifest = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
    expect(manifest.filter((r) => r.source === 'payments').map((r) => r.rows)).toEqual([2]);
  });

  it('does not ingest a log twice when a compaction died between its commit and removing the log', async () => {
    const dataDir = await makeTempDir('push-log-crash');
    await pushOffline(dataDir, [paymentRow(at, { customer_id: 'L1', amount: 3 })]);
    const [log] = await pendingPushLogs(dataDir, 'local', 'payments');
    // What a compaction killed after the commit leaves: the ingest committed, the log still there.
    await ingestFile({ registry, dataDir, env: 'local', source: 'payments', file: log as string });
    const [again] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(again).toEqual({
      source: 'payments',
      ingested: 0,
      alreadyIngested: 1,
      rows: 0,
      failed: [],
      temporariesRemoved: 0,
    });
    const manifest = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
    expect(manifest.filter((r) => r.source === 'payments')).toHaveLength(1);
    expect(await pendingPushLogs(dataDir, 'local', 'payments')).toEqual([]);
  });

  it('leaves only whole logs when the writer is killed with SIGKILL mid-write', async () => {
    const dataDir = await makeTempDir('push-log-kill');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'test/fixtures/push/append-logs-forever.ts'),
        dataDir,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => resolve());
      child.on('exit', (code) => reject(new Error(`writer exited ${code}`)));
    });
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const logs = await pendingPushLogs(dataDir, 'local', 'payments');
    expect(logs.length).toBeGreaterThan(0);
    for (const log of logs) {
      const lines = (await readFile(log, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(2_000);
      for (const line of lines) JSON.parse(line);
    }
    const names = await readdir(pushLogDir(dataDir, 'local', 'payments'));
    expect(names.filter((n) => !n.endsWith('.jsonl') && !n.endsWith('.tmp'))).toEqual([]);
  }, 60_000);
});
