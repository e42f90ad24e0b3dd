import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { acquireProcessLock } from '../../lib/process-lock.ts';
import { pushLogDir } from '../../lib/push/push-log.ts';
import { makeTempDir, repoRoot, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const payments = defineSource({
  name: 'payments',
  schema: { customer_id: 'string', amount: 'float64', flagged: 'bool', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const lastPayment = defineFeatureView({
  name: 'last_payment', entities: [customer], source: payments,
  features: { amount: { type: 'float64', min: 0 }, flagged: 'bool' },
  online: true, schedule: 'rate(1 hour)',
});
`;

let args: string[];
let dataDir: string;
let defsDir: string;
const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();
const line = (customer: string, amount: number) =>
  `${JSON.stringify({ customer_id: customer, amount, flagged: false, event_ts: hourAgo() })}\n`;

/** `fstore push --follow` with stdin as a pipe this test writes to. */
function follow(extra: readonly string[], base: readonly string[] = args) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'bin', 'fstore.mjs'),
      ...base,
      'push',
      '--source',
      'payments',
      '--follow',
      ...extra,
    ],
    { env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitFor(pattern: RegExp, on: 'stdout' | 'stderr' = 'stdout') {
      const text = () => (on === 'stdout' ? stdout : stderr);
      for (let waited = 0; !pattern.test(text()); waited += 50) {
        if (child.exitCode !== null || waited > 90_000)
          throw new Error(`no ${pattern} in:\n${stdout}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

async function amountOf(customer: string): Promise<unknown> {
  const got = await runFstore([
    ...args,
    'get',
    '--view',
    'last_payment',
    '--entity',
    `customer_id=${customer}`,
    '--json',
  ]);
  expect(got.code, got.stderr).toBe(0);
  const [result] = JSON.parse(got.stdout) as {
    features: Record<string, { value: unknown; status: string }>;
  }[];
  return result?.features.amount?.status === 'PRESENT'
    ? result.features.amount.value
    : result?.features.amount?.status;
}

/** The compaction lock of `payments`' push logs, held by this (test) process as another fstore would. */
async function holdCompactionLock() {
  const dir = pushLogDir(dataDir, 'local', 'payments');
  await mkdir(dir, { recursive: true });
  return acquireProcessLock(path.join(dir, '_compact.lock'), 'the push logs of source "payments"');
}

/** Rows the run's JSON lines say were ingested into the offline store. */
function compactedRows(stdout: string): number {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { compacted?: { rows: number } })
    .reduce((sum, o) => sum + (o.compacted?.rows ?? 0), 0);
}

describe('fstore push --follow', () => {
  beforeAll(async () => {
    const work = await makeTempDir('push-follow');
    defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('push-follow-defs'));
    dataDir = path.join(work, '.fstore');
    args = ['--defs', defsDir, '--data-dir', dataDir];
  });

  it('pushes piped lines in batches, reports a bad line by number and skips it, and exits 0 at end of input', async () => {
    const run = follow(['--batch-rows', '2', '--json']);
    run.child.stdin.end(
      [
        line('F1', 1),
        'not json\n',
        line('F2', 2),
        line('F3', -3), // refused: below min 0
        '\n',
        line('F4', 4),
        `{"customer_id": "${'L'.repeat(300_000)}"}\n`, // over the 256 KiB a push may carry
        line('F5', 5),
      ].join(''),
    );
    expect(await run.exited, run.stderr()).toBe(0);
    const out = run
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, { line?: number; reason?: string }>);
    expect(out.filter((o) => o.skipped).map((o) => o.skipped)).toEqual([
      { line: 2, reason: expect.stringContaining('not JSON') },
      { line: 4, reason: expect.stringContaining('amount = -3 is below min 0') },
      { line: 7, reason: 'the line is over 262144 bytes' },
    ]);
    expect(out.filter((o) => 'batch' in o).reduce((n, o) => n + Number(o.rows), 0)).toBe(4);
    expect(out.at(-1)).toMatchObject({ done: { lines: 8, rows: 4, skipped: 3 } });
    expect(await amountOf('F1')).toBe(1);
    expect(await amountOf('F2')).toBe(2);
    expect(await amountOf('F3')).toBe('NOT_FOUND');
    expect(await amountOf('F4')).toBe(4);
    expect(await amountOf('F5')).toBe(5);
    // Kept as a stream function keeps refused records: fstore quarantine stream shows them.
    const kept = await runFstore([...args, 'quarantine', 'stream', '--json']);
    expect(kept.code, kept.stderr).toBe(0);
    const [payments] = JSON.parse(kept.stdout).sources as {
      source: string;
      records: number;
      examples: { reason: string; data: unknown }[];
    }[];
    expect(payments).toMatchObject({ source: 'payments', records: 3 });
    expect(payments?.examples.map((e) => e.data)).toContainEqual(
      expect.objectContaining({ customer_id: 'F3', amount: -3 }),
    );
    expect(payments?.examples.map((e) => e.data)).toContain('not json');
  });

  it('exits 3 when skipped lines could not be kept (quarantine not writable), counting them in its summary, after pushing the good lines', async () => {
    const own = path.join(await makeTempDir('push-follow-unkept'), '.fstore');
    // A file where the source's quarantine folder goes: every write fails, as on a full disk or
    // a read-only folder (chmod stops no one running as root, as this test may).
    const streamDir = path.join(own, 'local', 'quarantine', '_stream');
    await mkdir(streamDir, { recursive: true });
    await writeFile(path.join(streamDir, 'payments'), '');
    const run = follow(['--json'], ['--defs', defsDir, '--data-dir', own]);
    run.child.stdin.end([line('U1', 1), 'not json\n', line('U2', 2), 'nor this\n'].join(''));
    expect(await run.exited, run.stderr()).toBe(3);
    // One JSON line per event, then the error document (pretty-printed, as every command's).
    const [events = '', error = ''] = run.stdout().split(/^(?=\{$)/m);
    const out = events
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    expect(out.find((o) => o.done)?.done).toMatchObject({ rows: 2, skipped: 2, notKept: 2 });
    expect(JSON.parse(error).error).toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/2 skipped lines \(2, 4\) could not be kept/),
    });
    expect(run.stderr()).toMatch(/line 2 was not kept in .*_stream\/payments\//);
  });

  it('on SIGTERM mid-stream pushes the lines it has read, loses no acknowledged line, and exits 0', async () => {
    // A long batch window: only SIGTERM can push the last lines.
    const run = follow(['--batch-rows', '3', '--batch-ms', '600000']);
    run.child.stdin.write(line('S1', 1) + line('S2', 2) + line('S3', 3));
    await run.waitFor(/batch 1, lines 1-3: 3 rows/);
    run.child.stdin.write(line('S4', 4) + line('S5', 5));
    // Wait until the CLI has read both (nothing shows it; the pipe delivers within milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    run.child.kill('SIGTERM');
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stdout()).toContain('batch 2, lines 4-5: 2 rows');
    expect(run.stdout()).toContain(
      'stopped by SIGTERM: 5 rows pushed in 2 batches, 0 lines skipped',
    );
    expect(run.stdout()).toContain('5 rows of payments added to the offline store');
    for (const [customer, amount] of [
      ['S1', 1],
      ['S2', 2],
      ['S3', 3],
      ['S4', 4],
      ['S5', 5],
    ] as const)
      expect(await amountOf(customer)).toBe(amount);
  });

  it('ingests the push logs into the offline store while it runs, every --compact-every', async () => {
    const run = follow(['--batch-rows', '1', '--compact-every', '1s', '--json']);
    run.child.stdin.write(line('P1', 1));
    await run.waitFor(/"batch":1/);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    run.child.stdin.write(line('P2', 2));
    // Stdin is still open: only the interval can have ingested the logs.
    await run.waitFor(/"compacted":\{"source":"payments","ingested":2,/);
    run.child.stdin.end();
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stdout()).toContain('"done":{"lines":2,"rows":2,');
  });

  it('goes on reading and pushing while another process holds the compaction lock, and ingests the logs once it is free', async () => {
    const lock = await holdCompactionLock();
    const run = follow(['--batch-rows', '1', '--compact-every', '1s', '--json']);
    run.child.stdin.write(line('B1', 1));
    await run.waitFor(/"batch":1/);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    run.child.stdin.write(line('B2', 2));
    await run.waitFor(/busy.*pid \d+/, 'stderr');
    run.child.stdin.write(line('B3', 3));
    await run.waitFor(/"batch":3/);
    await lock.release();
    run.child.stdin.end();
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stderr()).toMatch(/compaction of the push logs of payments is busy \(pid \d+/);
    expect(run.stdout()).toContain('"done":{"lines":3,"rows":3,');
    const compacted = compactedRows(run.stdout());
    expect(compacted).toBe(3);
    for (const [customer, amount] of [
      ['B1', 1],
      ['B2', 2],
      ['B3', 3],
    ] as const)
      expect(await amountOf(customer)).toBe(amount);
  });

  it('at end of input waits for a busy compaction lock, retrying with a notice, then ingests its logs and exits 0', async () => {
    const lock = await holdCompactionLock();
    const run = follow(['--compact-every', '0', '--json']);
    run.child.stdin.end(line('E1', 1) + line('E2', 2));
    await run.waitFor(/busy.*retrying in/, 'stderr');
    await lock.release();
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stdout()).toContain('"done":{"lines":2,"rows":2,');
    expect(compactedRows(run.stdout())).toBe(2);
  });

  it('refuses --follow with --file, and a --batch-rows over the push limit', async () => {
    const both = await runFstore([
      ...args,
      'push',
      '--source',
      'payments',
      '--follow',
      '--file',
      'x.jsonl',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--follow reads stdin and takes no --file');
    const big = await runFstore([
      ...args,
      'push',
      '--source',
      'payments',
      '--follow',
      '--batch-rows',
      '1001',
    ]);
    expect(big.code).toBe(2);
    expect(big.stderr).toContain('batch-rows must be a whole number from 1 to 1000');
  });
});
