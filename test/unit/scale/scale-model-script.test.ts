import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../scripts/scale-model.ts', import.meta.url));

function scaleModel(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8' });
}

describe('npm run scale:model', () => {
  it('prints one JSON document with a scenario per warmth and a row per entity count', () => {
    const result = scaleModel('--entities', '1000000,100000000', '--json');
    expect(result.status).toBe(0);
    const model = JSON.parse(result.stdout);
    expect(model.scenarios.map((s: { warmWriteUnits: number }) => s.warmWriteUnits)).toEqual([
      4000, 40_000,
    ]);
    expect(model.scenarios[1].rows.map((r: { entities: number }) => r.entities)).toEqual([
      1e6, 1e8,
    ]);
    expect(model.perMillionLookups.total).toBeGreaterThan(0);
  });

  it('refuses an option out of range, naming it, and prints no model', () => {
    const share = scaleModel('--changed-share', '2');
    expect(share.status).not.toBe(0);
    expect(share.stderr).toContain('--changed-share must be between 0 and 1, got "2"');
    expect(share.stdout).toBe('');
    const entities = scaleModel('--entities', '10,abc');
    expect(entities.status).not.toBe(0);
    expect(entities.stderr).toContain('--entities takes whole numbers >= 1, got "abc"');
  });
});
