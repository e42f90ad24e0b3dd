import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench's source and its one online view, as a user would write them in feature-defs/. */
export const pushBenchDefs = (definitionsModule: string) => `
import { defineEntity, defineFeatureView, defineSource } from '${definitionsModule}';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const events = defineSource({
  name: 'events',
  schema: {
    customer_id: 'string', amount: 'float64', clicks: 'int64', plan: 'string',
    flagged: 'bool', event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
export const lastEvent = defineFeatureView({
  name: 'last_event', entities: [customer], source: events,
  features: {
    amount: { type: 'float64', min: 0 },
    clicks: { type: 'int64', min: 0 },
    plan: { type: 'string', allowedValues: ['basic', 'plus', 'pro'] },
    flagged: 'bool',
  },
  online: true, schedule: 'rate(1 hour)',
});
`;

export const pushBenchSource = 'events';
export const pushBenchView = 'last_event';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const fstoreCli = path.join(repoRoot, 'bin', 'fstore.mjs');

/** A definitions folder holding pushBenchDefs, and an empty data folder. */
export async function pushBenchFolders(): Promise<{ defsDir: string; dataDir: string }> {
  const defsDir = await mkdtemp(path.join(tmpdir(), 'fstore-bench-push-defs-'));
  await writeFile(path.join(defsDir, 'package.json'), '{ "type": "module" }\n');
  await writeFile(
    path.join(defsDir, 'defs.ts'),
    pushBenchDefs(path.join(repoRoot, 'lib', 'definitions', 'index.ts')),
  );
  const work = await mkdtemp(path.join(tmpdir(), 'fstore-bench-push-data-'));
  // Each run used to leave both folders in the temp dir (30 MB apiece); BENCH_KEEP_DATA=1 keeps them.
  if (process.env.BENCH_KEEP_DATA !== '1')
    process.once('exit', () => {
      for (const dir of [defsDir, work])
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    });
  return { defsDir, dataDir: path.join(work, '.fstore') };
}

/** One row of `events` for `id` at `eventTs` (ISO text). */
export function pushBenchRow(id: string, n: number, eventTs: string): Record<string, unknown> {
  return {
    customer_id: id,
    amount: (n % 1000) * 1.25,
    clicks: n % 50,
    plan: ['basic', 'plus', 'pro'][n % 3],
    flagged: n % 2 === 0,
    event_ts: eventTs,
  };
}

export interface ServeProcess {
  readonly url: string;
  readonly pid: number;
  /** User + system CPU of the server process so far, ms (from /proc; NaN elsewhere). */
  cpuMs(): Promise<number>;
  /** Peak resident set of the server process, MB (VmHWM; NaN elsewhere). */
  peakRssMb(): Promise<number>;
  stop(): Promise<number | null>;
}

/**
 * `fstore serve --port 0` in its own process, as a user runs it; resolves when it is ready.
 * `extraArgs` go after `serve` (e.g. `--compact-push-logs-every 0`).
 */
export async function startServe(
  defsDir: string,
  dataDir: string,
  extraArgs: readonly string[] = [],
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_PUSH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops.
      ...(process.env.BENCH_PUSH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PUSH_CPU_PROF}`]
        : []),
      fstoreCli,
      '--defs',
      defsDir,
      '--data-dir',
      dataDir,
      'serve',
      '--port',
      '0',
      ...extraArgs,
    ],
    {
      env: {
        ...process.env,
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // A bench that fails (a thrown error) must not leave the server running.
  const stopOnExit = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.once('exit', stopOnExit);
  child.once('close', () => process.off('exit', stopOnExit));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /lookup API ready on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearInterval(timer);
        resolve(match[1]);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`fstore serve exited before it was ready:\n${output}`));
      }
    }, 50);
  });
  const pid = child.pid as number;
  const ticks = 100; // USER_HZ on Linux
  return {
    url,
    pid,
    async cpuMs() {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of /proc/pid/stat (12 and 13 after the name).
      return stat ? ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks : Number.NaN;
    },
    async peakRssMb() {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      const kb = /VmHWM:\s+(\d+)/.exec(status)?.[1];
      return kb ? Number(kb) / 1024 : Number.NaN;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
