import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { onlineStoreDoctorCheck } from '../../local/online-store-check.ts';
import { CliContext } from '../context.ts';
import { ingestLeftoversCheck } from './doctor-ingest-leftovers.ts';
import { failedPushLogsCheck } from './doctor-push-logs.ts';

interface Check {
  readonly name: string;
  readonly required: boolean;
  run(): Promise<string>;
  readonly fix: string;
}

const checks = (dataDir: string): Check[] => [
  {
    name: 'Node.js',
    required: true,
    fix: 'install Node.js 20.19 or newer',
    async run() {
      const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
      if (major < 20 || (major === 20 && minor < 19))
        throw new Error(`${process.versions.node} is too old`);
      return process.versions.node;
    },
  },
  {
    name: 'DuckDB (native)',
    required: true,
    fix: 'run npm ci again; @duckdb/node-bindings must match this platform',
    async run() {
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const db = await DuckDBInstance.create(':memory:');
      const connection = await db.connect();
      const version = (await connection.runAndReadAll('SELECT version() AS v')).getRowObjects()[0]
        ?.v;
      connection.closeSync();
      db.closeSync();
      return String(version);
    },
  },
  {
    name: 'LevelDB (dynalite on disk)',
    required: true,
    fix: 'run npm ci again; classic-level ships prebuilt binaries',
    async run() {
      const dir = await mkdtemp(path.join(tmpdir(), 'fstore-doctor-'));
      const { startDynalite } = await import('../../local/dynalite-server.ts');
      const server = await startDynalite({ path: dir });
      await server.close();
      await rm(dir, { recursive: true, force: true });
      return 'opens a database';
    },
  },
  {
    name: 'esbuild (Lambda bundles)',
    required: true,
    fix: 'run npm ci again; cdk synth bundles Lambdas with the local esbuild',
    async run() {
      const { transform, version } = await import('esbuild');
      await transform('const x: number = 1', { loader: 'ts' });
      return version;
    },
  },
  {
    name: 'disk space',
    required: true,
    fix: 'free some space where --data-dir points',
    async run() {
      const stats = await statfs(path.dirname(path.resolve(dataDir)));
      const freeGiB = (stats.bavail * stats.bsize) / 1024 ** 3;
      if (freeGiB < 1) throw new Error(`${freeGiB.toFixed(2)} GiB free`);
      return `${freeGiB.toFixed(1)} GiB free`;
    },
  },
  {
    name: 'Java (optional: DynamoDB Local tests)',
    required: false,
    fix: 'install a Java 17 runtime (apt-get install openjdk-17-jre-headless) to run the suite on Amazon DynamoDB Local',
    async run() {
      const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
      if (result.error || result.status !== 0) throw new Error('java not found');
      return `${result.stderr || result.stdout}`.split('\n')[0] ?? 'present';
    },
  },
];

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check that this machine can run fstore: Node.js, native modules, disk space, Java (optional)',
    )
    .option('--fix', 'remove what interrupted ingests left in the local offline store')
    .option(
      '--json',
      'print { ok, checks: [{ name, required, ok, result, fix }], details } as JSON',
    )
    .action(async (options: { fix?: boolean; json?: boolean }, command: Command) => {
      const ctx = CliContext.fromCommand(command);
      let failed = 0;
      const rows: string[][] = [];
      const results: {
        name: string;
        required: boolean;
        ok: boolean;
        result: string;
        fix?: string;
      }[] = [];
      const leftovers = ingestLeftoversCheck(ctx, options.fix === true);
      const online = onlineStoreDoctorCheck(ctx.options.dataDir, ctx.env);
      const pushLogs = failedPushLogsCheck(ctx);
      for (const check of [...checks(ctx.options.dataDir), leftovers, pushLogs, online]) {
        try {
          const result = await check.run();
          rows.push([ctx.out.c.green('✔'), check.name, result, '']);
          results.push({ name: check.name, required: check.required, ok: true, result });
        } catch (error) {
          if (check.required) failed += 1;
          results.push({
            name: check.name,
            required: check.required,
            ok: false,
            result: (error as Error).message.split('\n')[0] ?? '',
            fix: check.fix,
          });
          rows.push([
            check.required ? ctx.out.c.red('✖') : ctx.out.c.yellow('!'),
            check.name,
            (error as Error).message.split('\n')[0] ?? '',
            check.fix,
          ]);
        }
      }
      if (failed > 0) process.exitCode = 1;
      if (options.json) {
        ctx.out.json({
          ok: failed === 0,
          checks: results,
          details: [...leftovers.details, ...pushLogs.details],
        });
        return;
      }
      ctx.out.table(['', 'check', 'result', 'fix'], rows);
      for (const line of [...leftovers.details, ...pushLogs.details]) ctx.out.line(line);
    });
}
