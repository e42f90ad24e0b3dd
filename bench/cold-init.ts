/**
 * Cold module initialization of a Lambda bundle. Each probe is a fresh Node process that
 * imports the bundle and reports the import's wall time and the CPU time the process spent in
 * it (CPU time moves less than wall time when other work shares the machine). Three probes
 * run in turn, `runs` times each, interleaved so load hits them alike:
 * - the bundle;
 * - the bundle with `--enable-source-maps`, as NODE_OPTIONS sets it on the function;
 * - the AWS SDK's DynamoDB client alone (import and `new DynamoDBClient({})`): the runtime
 *   provides the SDK and the bundle loads it, so this is the part of init the bundle's own
 *   code does not decide.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { median } from './interleave.ts';

const run = promisify(execFile);

export interface InitSample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

export interface InitFigure extends InitSample {
  readonly samples: readonly InitSample[];
}

export interface ColdInit {
  readonly bundle: InitFigure;
  readonly bundleWithSourceMaps: InitFigure;
  readonly sdkAlone: InitFigure;
  readonly runs: number;
}

const measure = (load: string) =>
  `const cpu = process.cpuUsage(); const started = performance.now(); ${load}; const wallMs = performance.now() - started; const used = process.cpuUsage(cpu); process.stdout.write(JSON.stringify({ wallMs, cpuMs: (used.user + used.system) / 1000 }));`;

/** Probes `bundle` (an ESM file in `dir`, whose node_modules holds the SDK) `runs` times. */
export async function coldInit(dir: string, bundle: string, runs: number): Promise<ColdInit> {
  const probes = {
    bundle: { flags: [], load: `await import(${JSON.stringify(bundle)})` },
    bundleWithSourceMaps: {
      flags: ['--enable-source-maps'],
      load: `await import(${JSON.stringify(bundle)})`,
    },
    sdkAlone: {
      flags: [],
      load: `const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb'); new DynamoDBClient({})`,
    },
  } as const;
  const samples: Record<keyof typeof probes, InitSample[]> = {
    bundle: [],
    bundleWithSourceMaps: [],
    sdkAlone: [],
  };
  for (let i = 0; i < runs; i++) {
    for (const [name, probe] of Object.entries(probes) as [keyof typeof probes, Probe][]) {
      const { stdout } = await run(
        process.execPath,
        [...probe.flags, '--input-type=module', '-e', measure(probe.load)],
        { cwd: dir, env: { ...process.env, TABLE_NAME: 'fstore-bench-online' }, encoding: 'utf8' },
      );
      samples[name].push(JSON.parse(stdout) as InitSample);
    }
  }
  const figure = (list: InitSample[]): InitFigure => ({
    wallMs: median(list.map((s) => s.wallMs)),
    cpuMs: median(list.map((s) => s.cpuMs)),
    samples: list,
  });
  return {
    bundle: figure(samples.bundle),
    bundleWithSourceMaps: figure(samples.bundleWithSourceMaps),
    sdkAlone: figure(samples.sdkAlone),
    runs,
  };
}

interface Probe {
  readonly flags: readonly string[];
  readonly load: string;
}

export function describeColdInit(init: ColdInit): string[] {
  const line = (what: string, f: InitFigure) =>
    `  ${what}: median ${f.wallMs.toFixed(0)} ms wall, ${f.cpuMs.toFixed(0)} ms CPU`;
  return [
    `cold module init, fresh processes, median of ${init.runs} interleaved:`,
    line('lookup bundle (loads the runtime SDK)', init.bundle),
    line('lookup bundle with --enable-source-maps', init.bundleWithSourceMaps),
    line('the AWS SDK DynamoDB client alone', init.sdkAlone),
    `  bundle beyond the SDK: ${(init.bundle.wallMs - init.sdkAlone.wallMs).toFixed(0)} ms wall, ${(init.bundle.cpuMs - init.sdkAlone.cpuMs).toFixed(0)} ms CPU`,
  ];
}
