import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { timeoutUnderCoverage } from '../helpers/coverage-timeout.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';

describe('fstore start (npm start)', () => {
  it(
    'with --no-serve applies the registry, generates and ingests demo data once, and shows a training-set command that works',
    async () => {
      const dataDir = await makeTempDir('start');
      const first = await runFstore(['--data-dir', dataDir, 'start', '--no-serve']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('Applied registry');
      expect(first.stdout).toContain('demo data generated');
      expect(first.stdout).toMatch(/ingested [\d,]+ rows into "orders"/);

      const second = await runFstore(['--data-dir', dataDir, 'start', '--no-serve']);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toContain('registry already applied');
      expect(second.stdout).toContain('demo data present');
      expect(second.stdout).not.toContain('ingested');
      const manifest = (
        await readFile(path.join(dataDir, 'local', 'offline', '_ingests.jsonl'), 'utf8')
      )
        .trim()
        .split('\n');
      expect(manifest).toHaveLength(3);

      const command = second.stdout
        .split('\n')
        .find((line) => line.includes('fstore training-set'))
        ?.trim();
      expect(command).toBeDefined();
      const args = (command ?? '').replace(/^npx fstore /, '').split(' ');
      const out = path.join(dataDir, 'ts.parquet');
      const result = await runFstore(['--data-dir', dataDir, ...args.slice(0, -2), '--out', out]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('200 rows × 12 columns');
    },
    timeoutUnderCoverage(60_000),
  );
});
