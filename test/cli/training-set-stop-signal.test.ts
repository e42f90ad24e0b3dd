import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, spawnFstore, writeDefs } from '../helpers/run-fstore.ts';

// A transform that takes ~1 ms a row: 40,000 entity rows keep the local join busy for long
// enough to stop it half-way with a real signal. Before the stop reached the DuckDB query, the
// CLI printed "SIGTERM: stopped" and then never exited: process.exit waited for the query's
// thread, which waited for the main thread to run the transform.
const defs = `
import { defineEntity, defineFeatureService, defineFeatureView, defineOnDemandView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', monthly: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const profile = defineFeatureView({
  name: 'profile', entities: [customer], source: profiles, features: { monthly: 'float64' }, ttl: '30d',
});
export const slow = defineOnDemandView({
  name: 'slow',
  request: { basket: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { ratio: 'float64' },
  transform: (row) => {
    let spin = 0;
    for (let i = 0; i < 300_000; i++) spin += i % 7;
    return { ratio: row.monthly ? row.basket / row.monthly + spin * 0 : null };
  },
});
export const checkout = defineFeatureService({ name: 'checkout', features: [slow] });
`;

let args: string[];
let work: string;
let entities: string;

beforeAll(async () => {
  work = await makeTempDir('ts-stop-signal');
  const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('ts-stop-signal-defs'));
  args = ['--defs', defsDir, '--data-dir', path.join(work, '.fstore')];
  const rows = path.join(work, 'profiles.csv');
  await writeFile(rows, 'customer_id,monthly,event_ts\nC1,50,2026-03-01T00:00:00Z\n');
  const ingest = await runFstore([...args, 'ingest', '--source', 'profiles', '--file', rows]);
  expect(ingest.code, ingest.stderr).toBe(0);
  entities = path.join(work, 'entities.csv');
  const lines = ['customer_id,event_timestamp,basket'];
  for (let i = 0; i < 40_000; i++) lines.push(`C1,2026-03-10T00:00:00Z,${i}`);
  await writeFile(entities, `${lines.join('\n')}\n`);
}, 240_000);

describe('fstore training-set (local) stopped by a signal while its on-demand transform runs', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    'stops the join on %s and exits %i, saying so, with neither the result nor its partial file left',
    async (signal, exitCode) => {
      const outDir = await makeTempDir('ts-stop-signal-out');
      const out = path.join(outDir, 'train.parquet');
      const child = spawnFstore([
        ...args,
        'training-set',
        '--service',
        'checkout',
        '--entities',
        entities,
        '--out',
        out,
      ]);
      // The join (and with it the transform) starts right after the phase line; the result reaches
      // the partial file only at its end, as it is hashed while written.
      const started = Date.now();
      while (!child.stderr().includes('joining ...')) {
        if (Date.now() - started > 120_000) throw new Error(`no join started:\n${child.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      child.kill(signal);
      // Hang detector only (generous: the machine may be loaded); a stuck exit never resolves.
      const code = await Promise.race([
        child.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000)),
      ]);
      if (code === 'still running') child.kill('SIGKILL');
      expect(code, child.output()).toBe(exitCode);
      expect(child.stderr()).toContain(`${signal}: stopping`);
      expect(child.stderr()).toContain(
        `interrupted: stopped by ${signal}: no training set was written`,
      );
      expect(readdirSync(outDir)).toEqual([]);
      expect(existsSync(out)).toBe(false);
    },
    300_000,
  );
});
