import { existsSync } from 'node:fs';
import { cp, open, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CliResult,
  makeTempDir,
  runFstore,
  spawnFstore,
  writeDefs,
} from '../helpers/run-fstore.ts';

const defs = `import { defineEntity, defineFeatureService, defineFeatureView, defineSource } from 'fstore:definitions';
export const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
export const profiles = defineSource({ name: 'profiles', schema: { customer_id: 'string', age: 'int32', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const profile = defineFeatureView({ name: 'profile', entities: [customer], source: profiles, features: { age: 'int32' }, online: true, schedule: 'rate(1 hour)' });
export const model = defineFeatureService({ name: 'model', features: [profile.select(['age'])] });
`;

/** Enough rows that the table spans several LevelDB blocks, so one block can be damaged alone. */
const customers = Array.from({ length: 300 }, (_, i) => `C${i}`);
const probe = ['C1', 'C7', 'C150', 'C299'];

let defsDir: string;
let pristine: string;
let before: unknown;

const fstore = (dataDir: string, ...args: string[]) =>
  runFstore(['--defs', defsDir, '--data-dir', dataDir, ...args]);

const onlineDir = (dataDir: string) => path.join(dataDir, 'local', 'online');

async function lookupValues(dataDir: string): Promise<unknown> {
  const result = await fstore(
    dataDir,
    'get',
    '--view',
    'profile',
    ...probe.flatMap((id) => ['--entity', `customer_id=${id}`]),
    '--json',
  );
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { features: { age: unknown } }[]).map((r) => r.features);
}

/** A copy of the healthy store with `damage` applied to its online folder. */
async function damagedCopy(damage: (online: string) => Promise<void>): Promise<string> {
  const dataDir = await makeTempDir('damaged');
  await cp(pristine, dataDir, { recursive: true });
  await damage(onlineDir(dataDir));
  return dataDir;
}

async function onlineFile(online: string, pattern: RegExp): Promise<string> {
  const name = (await readdir(online)).find((f) => pattern.test(f));
  if (!name) throw new Error(`no file matching ${pattern} in ${online}`);
  return path.join(online, name);
}

async function overwrite(file: string, offset: number, bytes: Buffer): Promise<void> {
  const handle = await open(file, 'r+');
  await handle.write(bytes, 0, bytes.length, offset);
  await handle.close();
}

function expectNoStackTrace(output: string): void {
  expect(output).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(output).not.toContain('Database is closed');
}

/** The one message: names the folder, says the offline store is the truth, gives the fix. */
function expectClearMessage(result: CliResult, dataDir: string, what: RegExp): void {
  expect(result.code, result.stdout + result.stderr).toBe(1);
  expect(result.stderr).toContain(`the online store in ${onlineDir(dataDir)}`);
  expect(result.stderr).toMatch(what);
  expect(result.stderr).toContain('the offline store is the source of truth');
  expect(result.stderr).toContain('fstore reset --online');
  expect(result.stderr).toContain('fstore materialize');
  expectNoStackTrace(result.stdout + result.stderr);
}

async function serveRefuses(dataDir: string): Promise<CliResult> {
  const serve = spawnFstore(['--defs', defsDir, '--data-dir', dataDir, 'serve', '--port', '0']);
  const started = await serve.waitFor(/lookup API ready/, 30_000).then(
    () => true,
    () => false,
  );
  const code = await serve.stop();
  expect(started, serve.output()).toBe(false);
  return { code, stdout: '', stderr: serve.output() };
}

/** doctor names the damage; reset --online and materialize bring back the same lookups. */
async function expectDoctorThenRebuild(dataDir: string, what: RegExp): Promise<void> {
  const doctor = await fstore(dataDir, 'doctor');
  expect(doctor.code, doctor.stdout).toBe(1);
  expect(doctor.stdout).toMatch(/✖ │ online store/);
  expect(doctor.stdout).toMatch(what);
  expect(doctor.stdout).toContain('fstore reset --online');

  const reset = await fstore(dataDir, 'reset', '--online', '--yes');
  expect(reset.code, reset.stderr).toBe(0);
  expect(existsSync(onlineDir(dataDir))).toBe(false);
  expect(existsSync(path.join(dataDir, 'local', 'registry.json'))).toBe(true);
  expect(existsSync(path.join(dataDir, 'local', 'offline'))).toBe(true);

  const materialize = await fstore(dataDir, 'materialize');
  expect(materialize.code, materialize.stderr).toBe(0);
  expect(materialize.stdout).toMatch(/profile\s+│ all …/);
  expect(await lookupValues(dataDir)).toEqual(before);
  const healthy = await fstore(dataDir, 'doctor');
  expect(healthy.stdout).toMatch(/✔ │ online store/);
}

describe('a damaged local online store is one clear message, never a crash', () => {
  beforeAll(async () => {
    defsDir = await writeDefs({ 'defs.ts': defs });
    pristine = await makeTempDir('online-pristine');
    const rows = path.join(pristine, 'rows.jsonl');
    await writeFile(
      rows,
      customers
        .map((customer_id, i) =>
          JSON.stringify({
            customer_id,
            age: 20 + (i % 60),
            event_ts: `2026-01-0${1 + (i % 9)}T00:00:00Z`,
          }),
        )
        .join('\n'),
    );
    for (const args of [
      ['apply'],
      ['ingest', '--source', 'profiles', '--file', rows],
      ['materialize'],
    ]) {
      const result = await fstore(pristine, ...args);
      expect(result.code, result.stderr).toBe(0);
    }
    // Reopening moves the write-ahead log into a table file (.ldb), the layout damage hits.
    before = await lookupValues(pristine);
    expect(await readdir(onlineDir(pristine))).toEqual(
      expect.arrayContaining([expect.stringMatching(/\.ldb$/), 'CURRENT']),
    );
  }, 120_000);

  it('reports a deleted .ldb table file from status, serve and doctor, and rebuilds from the offline store', async () => {
    const dataDir = await damagedCopy(async (online) =>
      rm(await onlineFile(online, /\.ldb$/), { force: true }),
    );
    const what = /is damaged: .*missing files?/i;
    expectClearMessage(await fstore(dataDir, 'status'), dataDir, what);
    expectClearMessage(await serveRefuses(dataDir), dataDir, what);
    await expectDoctorThenRebuild(dataDir, /missing files?/i);
  }, 120_000);

  it('reports a garbled MANIFEST from status, serve and doctor, and rebuilds from the offline store', async () => {
    const dataDir = await damagedCopy(async (online) =>
      overwrite(await onlineFile(online, /^MANIFEST-/), 10, Buffer.from('garbage'.repeat(6))),
    );
    const what = /is damaged: .*(corrupt|MANIFEST)/i;
    expectClearMessage(await fstore(dataDir, 'status'), dataDir, what);
    expectClearMessage(await serveRefuses(dataDir), dataDir, what);
    await expectDoctorThenRebuild(dataDir, /corrupt|MANIFEST/i);
  }, 120_000);

  it('refuses a folder that lost CURRENT instead of silently starting an empty store', async () => {
    const dataDir = await damagedCopy(async (online) =>
      rm(path.join(online, 'CURRENT'), { force: true }),
    );
    const what = /CURRENT file is missing/;
    expectClearMessage(await fstore(dataDir, 'status'), dataDir, what);
    expectClearMessage(await serveRefuses(dataDir), dataDir, what);
    // The table files are still there: nothing opened the folder and cleaned them up.
    expect((await readdir(onlineDir(dataDir))).some((f) => f.endsWith('.ldb'))).toBe(true);
    await expectDoctorThenRebuild(dataDir, /CURRENT file is missing/);
  }, 120_000);

  it('reports a vanished online folder whose watermarks remain instead of rebuilding it empty', async () => {
    const dataDir = await damagedCopy((online) => rm(online, { recursive: true, force: true }));
    const what = /is missing, but watermarks say 1 view was materialized/;
    expectClearMessage(await fstore(dataDir, 'status'), dataDir, what);
    expectClearMessage(await serveRefuses(dataDir), dataDir, what);
    expect(existsSync(onlineDir(dataDir))).toBe(false);
    await expectDoctorThenRebuild(dataDir, /watermarks say 1 view was materialized/);
  }, 120_000);

  it('answers 503 for a lookup that hits a corrupted block, keeps serving, and reports the store unhealthy', async () => {
    // The first bytes of the first block hold its compressed length: reading it fails loudly.
    const dataDir = await damagedCopy(async (online) =>
      overwrite(await onlineFile(online, /\.ldb$/), 0, Buffer.alloc(8, 0xff)),
    );
    const serve = spawnFstore(['--defs', defsDir, '--data-dir', dataDir, 'serve', '--port', '0']);
    try {
      const [, url] = await serve.waitFor(/lookup API ready on (http:\/\/127\.0\.0\.1:\d+)/);
      expect((await fetch(`${url}/v1/health`)).status).toBe(200);
      const lookup = await fetch(`${url}/v1/features/model`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ entities: customers.map((customer_id) => ({ customer_id })) }),
      });
      expect(lookup.status).toBe(503);
      const body = (await lookup.json()) as {
        error: { code: string; message: string; details: unknown };
      };
      expect(body.error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(lookup.headers.get('retry-after')).toBe('1');
      // The answer is generic; the server's log says what is wrong and where.
      expect(body.error.message).not.toContain(onlineDir(dataDir));
      expect(serve.output()).toContain(`the online store in ${onlineDir(dataDir)}`);
      expect(serve.output()).toMatch(
        /"message":"online store unavailable after retries".*corrupt/i,
      );

      const health = await fetch(`${url}/v1/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'unavailable' });
      expect((await fetch(`${url}/v1/registry`)).status).toBe(200);

      const refused = await fstore(dataDir, 'reset', '--online', '--yes');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('in use by another fstore process');
      expect(existsSync(onlineDir(dataDir))).toBe(true);

      const doctor = await fstore(dataDir, 'doctor');
      expect(doctor.code, doctor.stdout).toBe(1);
      expect(doctor.stdout).toMatch(/✖ │ online store .*(corrupt)/i);
      expect(doctor.stdout).toContain('through the running server');
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expectNoStackTrace(serve.output());
    await expectDoctorThenRebuild(dataDir, /corrupt/i);
  }, 120_000);
});
