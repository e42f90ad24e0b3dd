import { existsSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { openLocalOnlineStore } from '../../lib/local/local-online-store.ts';
import { makeTempDir, runFstore, spawnFstore } from '../helpers/run-fstore.ts';

// Real signals sent to the real CLI at points it reaches deterministically: FSTORE_PAUSE_AT
// (lib/fault-injection.ts) makes it print a marker and wait there until it is told to stop.
const paused = (point: string) => new RegExp(`fstore-pause: ${point}`);
const atCheckpoint = { FSTORE_PAUSE_AT: 'materialize:after-checkpoint' };
const env = 'local';

let prepared: string;

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A data dir with the demo data ingested and nothing materialized yet (copied per test). */
async function freshDataDir(): Promise<string> {
  const dir = await makeTempDir('signals');
  await cp(prepared, dir, { recursive: true });
  return dir;
}

const fstore = (dataDir: string, ...args: string[]) => runFstore(['--data-dir', dataDir, ...args]);

const lockFile = (dataDir: string) => path.join(dataDir, env, 'online.lock');

interface ViewStatusJson {
  view: string;
  activity: string;
  state: { lease?: { owner: string }; checkpoint?: { counts: { rowsRead: number } } };
}

async function status(dataDir: string): Promise<Map<string, ViewStatusJson>> {
  const result = await fstore(dataDir, 'status', '--json');
  expect(result.code, result.stderr).toBe(0);
  return new Map((JSON.parse(result.stdout) as ViewStatusJson[]).map((s) => [s.view, s]));
}

/** Every online item (not the state items), without the attributes that record when it was written. */
async function onlineItems(dataDir: string): Promise<unknown[]> {
  const store = await openLocalOnlineStore(dataDir, env);
  try {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await store.client.send(
        new ScanCommand({
          TableName: store.table,
          ...(start ? { ExclusiveStartKey: start as never } : {}),
        }),
      );
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return items
      .filter((item) => !String((item.pk as { S: string }).S).startsWith('~'))
      .map(({ materialized_at: _m, expires_at: _x, ...rest }) => rest)
      .sort((a, b) => String((a.pk as { S: string }).S).localeCompare((b.pk as { S: string }).S));
  } finally {
    await store.close();
  }
}

describe('SIGINT and SIGTERM stop long commands at a safe point, release locks and leases, and say how to go on', () => {
  beforeAll(async () => {
    prepared = await makeTempDir('signals-prepared');
    const start = await fstore(prepared, 'start', '--no-serve');
    expect(start.code, start.stderr).toBe(0);
  }, 180_000);

  it('stops fstore materialize at its checkpoint on SIGTERM (exit 143), releases online.lock and the lease, and a rerun resumes to the same online state as an uninterrupted run', async () => {
    const [interrupted, clean] = await Promise.all([freshDataDir(), freshDataDir()]);
    const run = spawnFstore(
      [
        '--data-dir',
        interrupted,
        'materialize',
        '--view',
        'customer_profile',
        '--chunk-rows',
        '300',
      ],
      { env: atCheckpoint },
    );
    await run.waitFor(paused('materialize:after-checkpoint'));
    expect(existsSync(lockFile(interrupted))).toBe(true);
    expect(await run.stop('SIGTERM')).toBe(143);
    expect(run.stderr()).toMatch(
      /interrupted: customer_profile checkpointed at key C\d+, 300 rows written/,
    );
    expect(run.stderr()).toContain('the lease is released');
    expect(run.stderr()).toContain('run `fstore materialize --view customer_profile` to resume');
    expect(existsSync(lockFile(interrupted))).toBe(false);

    const after = (await status(interrupted)).get('customer_profile');
    expect(after?.state.lease).toBeUndefined();
    expect(after?.activity).toBe('interrupted');
    expect(after?.state.checkpoint?.counts.rowsRead).toBe(300);
    const table = await fstore(interrupted, 'status');
    expect(table.stdout).toMatch(/customer_profile.*interrupted, resumable after 300 rows/);
    expect(table.stdout).not.toContain('running');

    const resumed = await fstore(
      interrupted,
      'materialize',
      '--view',
      'customer_profile',
      '--json',
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)[0]).toMatchObject({ status: 'succeeded', resumed: true });
    expect((await status(interrupted)).get('customer_profile')?.activity).toBe('idle');

    const uninterrupted = await fstore(clean, 'materialize', '--view', 'customer_profile');
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    const items = await onlineItems(interrupted);
    expect(items.length).toBeGreaterThan(300);
    expect(items).toEqual(await onlineItems(clean));
  }, 180_000);

  it('stops the materialization of npm start on SIGINT (exit 130) without serving, releases online.lock, and names the views not started', async () => {
    const dataDir = await freshDataDir();
    const start = spawnFstore(['--data-dir', dataDir, 'start', '--port', '0'], {
      env: atCheckpoint,
    });
    await start.waitFor(paused('materialize:after-checkpoint'), 120_000);
    expect(await start.stop('SIGINT')).toBe(130);
    expect(start.output()).not.toContain('lookup API ready');
    expect(start.stderr()).toMatch(/interrupted: .*not started: /);
    expect(start.stderr()).toContain('run `npm start` again');
    expect(existsSync(lockFile(dataDir))).toBe(false);
    for (const view of (await status(dataDir)).values())
      expect(view.activity, view.view).not.toBe('running');

    const rest = await fstore(dataDir, 'materialize');
    expect(rest.code, rest.stderr).toBe(0);
    for (const view of (await status(dataDir)).values()) expect(view.activity).toBe('idle');
  }, 180_000);

  // Killed right after its first checkpoint, with that chunk's items written and the rest not.
  it.each([
    ['last_order', 200],
    ['customer_profile', 1],
  ] as const)(
    'shows the lease of a SIGKILLed materialize (%s, chunks of %i rows) as interrupted, resumable, and the next materialize takes it over and resumes to the online state of an uninterrupted run',
    async (view, chunkRows) => {
      const [dataDir, clean] = await Promise.all([freshDataDir(), freshDataDir()]);
      const run = spawnFstore(
        ['--data-dir', dataDir, 'materialize', '--view', view, '--chunk-rows', String(chunkRows)],
        { env: atCheckpoint },
      );
      await run.waitFor(paused('materialize:after-checkpoint'));
      expect(await run.stop('SIGKILL')).toBeNull();

      const left = (await status(dataDir)).get(view);
      expect(left?.state.lease?.owner).toMatch(/^local-\d+-/);
      expect(left?.activity).toBe('interrupted');
      expect(left?.state.checkpoint?.counts.rowsRead).toBe(chunkRows);
      const table = await fstore(dataDir, 'status');
      expect(table.stdout).toMatch(
        new RegExp(
          `${view}.*interrupted, resumable after ${chunkRows} rows? \\(local-\\d+-\\w+ exited\\)`,
        ),
      );
      expect(table.stdout).not.toContain('running');
      const partial = await onlineItems(dataDir);
      expect(partial).toHaveLength(chunkRows);

      const next = await fstore(dataDir, 'materialize', '--view', view, '--json');
      expect(next.code, next.stderr).toBe(0);
      expect(JSON.parse(next.stdout)[0]).toMatchObject({ status: 'succeeded', resumed: true });
      expect((await status(dataDir)).get(view)?.activity).toBe('idle');

      const uninterrupted = await fstore(clean, 'materialize', '--view', view);
      expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
      const items = await onlineItems(dataDir);
      expect(items.length).toBeGreaterThan(partial.length);
      expect(items).toEqual(await onlineItems(clean));
    },
    180_000,
  );

  it('exits at once on a second SIGTERM while the first is still winding down (exit 143), removing online.lock; the lease left behind is taken over and resumed', async () => {
    const dataDir = await freshDataDir();
    const run = spawnFstore(
      ['--data-dir', dataDir, 'materialize', '--view', 'customer_profile', '--chunk-rows', '250'],
      // Held: the run does not reach its safe point after the first signal.
      { env: { ...atCheckpoint, FSTORE_PAUSE_HOLD: '1' } },
    );
    await run.waitFor(paused('materialize:after-checkpoint'));
    run.kill('SIGTERM');
    await until(() => run.stderr().includes('stopping at the next safe point'));
    expect(existsSync(lockFile(dataDir))).toBe(true);
    expect(await run.stop('SIGTERM')).toBe(143);
    expect(run.stderr()).toContain('SIGTERM again: exiting now');
    expect(existsSync(lockFile(dataDir))).toBe(false);

    const left = (await status(dataDir)).get('customer_profile');
    expect(left?.state.lease).toBeDefined();
    expect(left?.activity).toBe('interrupted');
    const next = await fstore(dataDir, 'materialize', '--view', 'customer_profile', '--json');
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout)[0]).toMatchObject({ status: 'succeeded', resumed: true });
  }, 180_000);

  it('stops fstore ingest before its commit point on SIGTERM (exit 143): no row is visible and the same ingest then succeeds', async () => {
    const dataDir = await freshDataDir();
    const file = path.join(dataDir, 'new-orders.csv');
    await writeFile(
      file,
      [
        'order_id,customer_id,amount,category,event_ts,created_ts',
        'SIG-1,C000001,12.5,books,2026-01-02T10:00:00Z,2026-01-02T10:00:01Z',
        'SIG-2,C000002,40,books,2026-01-03T11:00:00Z,2026-01-03T11:00:01Z',
        'SIG-3,C000003,7.25,books,2026-01-04T12:00:00Z,2026-01-04T12:00:01Z',
      ].join('\n'),
    );
    const rows = async () => {
      const stats = await fstore(dataDir, 'stats', '--view', 'last_order', '--json');
      expect(stats.code, stats.stderr).toBe(0);
      return (JSON.parse(stats.stdout) as { rows: number }).rows;
    };
    const before = await rows();

    const ingest = spawnFstore(
      ['--data-dir', dataDir, 'ingest', '--source', 'orders', '--file', file],
      { env: { FSTORE_PAUSE_AT: 'ingest:before-commit' } },
    );
    await ingest.waitFor(paused('ingest:before-commit'));
    expect(await ingest.stop('SIGTERM')).toBe(143);
    expect(ingest.stderr()).toContain(
      'interrupted: nothing was ingested into "orders": the ingest stopped before its commit point',
    );
    expect(ingest.stderr()).toContain(
      `run the same \`fstore ingest --source orders --file ${file}\` again`,
    );
    expect(await rows()).toBe(before);

    const again = await fstore(dataDir, 'ingest', '--source', 'orders', '--file', file);
    expect(again.code, again.stderr).toBe(0);
    expect(await rows()).toBe(before + 3);
  }, 180_000);
});
