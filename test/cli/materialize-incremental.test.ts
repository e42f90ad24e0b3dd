import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';

describe('fstore materialize after the first run', () => {
  it('says nothing was new and wrote nothing when nothing was ingested since', async () => {
    const dataDir = await makeTempDir('materialize-idle');
    const fstore = (...args: string[]) =>
      runFstore(['--data-dir', dataDir, 'materialize', '--view', 'customer_profile', ...args]);
    // Ingests the demo data, materializes nothing.
    const start = await runFstore(['--data-dir', dataDir, 'start', '--no-serve']);
    expect(start.code, start.stderr).toBe(0);
    const first = await fstore();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('(full: first run)');

    const again = await fstore();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('customer_profile: nothing new since the last run; no writes');
    expect(again.stdout).toContain('0 new ingest(s), 0 rows; dated >');

    const json = await fstore('--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)[0]).toMatchObject({
      scope: { kind: 'incremental', newIngests: 0, newIngestRows: 0 },
      counts: { rowsRead: 0, written: 0, skippedAsOlder: 0 },
    });
  }, 600_000);
});
