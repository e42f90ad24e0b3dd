import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, spawnFstore } from '../helpers/run-fstore.ts';

const ready = /lookup API ready on (http:\/\/127\.0\.0\.1:(\d+))/;

describe('the first hour with the CLI (issue 14 §3)', () => {
  it('prints no AWS SDK Node-version warning from a command that builds an SDK client, and still prints other warnings', async () => {
    const dataDir = await makeTempDir('first-hour-warning');
    // A preload emitting an ordinary warning once the CLI's filter is installed.
    const preload = path.join(dataDir, 'other-warning.cjs');
    await writeFile(
      preload,
      "setTimeout(() => process.emitWarning('an unrelated warning', { code: 'FSTORE_TEST' }), 300).unref();\n",
    );
    const result = await runFstore(['--data-dir', dataDir, 'status'], {
      env: { NODE_OPTIONS: `--require ${preload}` },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/NodeVersionSupportWarning|require node >=22/);
    expect(result.stderr).toContain('[FSTORE_TEST] Warning: an unrelated warning');
  }, 60_000);

  it('fstore get without --url reads through a running start that serves on another port than 8080', async () => {
    const dataDir = await makeTempDir('first-hour-get');
    const server = spawnFstore(['--data-dir', dataDir, 'start', '--port', '0']);
    try {
      const [, url, port] = await server.waitFor(ready, 120_000);
      expect(port).not.toBe('8080');
      const viaCli = await runFstore([
        '--data-dir',
        dataDir,
        'get',
        '--service',
        'churn_online',
        '--entity',
        'customer_id=C000001',
        '--json',
      ]);
      expect(viaCli.code, viaCli.stderr).toBe(0);
      const response = await fetch(`${url}/v1/features/churn_online`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ entities: [{ customer_id: 'C000001' }] }),
      });
      const served = (await response.json()) as {
        results: { features: Record<string, { status: string; value: unknown }> }[];
      };
      const [first] = JSON.parse(viaCli.stdout) as {
        features: Record<string, { status: string; value: unknown }>;
      }[];
      expect(first?.features.plan?.status).toBe('PRESENT');
      expect(first?.features.plan?.value).toBe(served.results[0]?.features.plan?.value);
    } finally {
      await server.stop('SIGTERM');
    }
  }, 180_000);
});
