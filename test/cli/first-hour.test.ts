import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';

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
});
