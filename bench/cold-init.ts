/**
 * Cold module initialization of Lambda bundles. Each probe is a fresh Node process that imports
 * a bundle and reports the import's wall time and the CPU time the process spent in it (CPU
 * time moves less than wall time when other work shares the machine). The probes run in turn,
 * `runs` times each, interleaved so load hits them alike. Each runs in the bundle's folder,
 * whose node_modules holds only what the Lambda runtime provides (`@aws-sdk/*`), with the
 * environment Lambda gives a function (region, credentials) and the function's own variables.
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

export interface InitProbe {
  /** What the probe loads, for the report. */
  readonly name: string;
  /** An ESM file, in a folder set up as the Lambda runtime would see it. */
  readonly bundle: string;
  readonly nodeFlags?: readonly string[];
}

const measure = (bundle: string) =>
  `const cpu = process.cpuUsage(); const started = performance.now(); await import(${JSON.stringify(bundle)}); const wallMs = performance.now() - started; const used = process.cpuUsage(cpu); process.stdout.write(JSON.stringify({ wallMs, cpuMs: (used.user + used.system) / 1000 }));`;

/** What the Lambda runtime sets for every function, plus the lookup function's table. */
const lambdaEnvironment = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SESSION_TOKEN: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'fstore-bench-lookup',
  TABLE_NAME: 'fstore-bench-online',
};

/** Runs each probe `runs` times, interleaved; the medians of wall and CPU time per probe. */
export async function coldInit(
  probes: readonly InitProbe[],
  runs: number,
): Promise<Map<string, InitFigure>> {
  const samples = new Map<string, InitSample[]>(probes.map((p) => [p.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const probe of probes) {
      const { stdout } = await run(
        process.execPath,
        [...(probe.nodeFlags ?? []), '--input-type=module', '-e', measure(probe.bundle)],
        {
          env: { PATH: process.env.PATH ?? '', ...lambdaEnvironment },
          encoding: 'utf8',
        },
      );
      samples.get(probe.name)?.push(JSON.parse(stdout) as InitSample);
    }
  }
  return new Map(
    [...samples].map(([name, list]) => [
      name,
      {
        wallMs: median(list.map((s) => s.wallMs)),
        cpuMs: median(list.map((s) => s.cpuMs)),
        samples: list,
      },
    ]),
  );
}

export function describeColdInit(figures: ReadonlyMap<string, InitFigure>, runs: number): string[] {
  return [
    `cold module init, fresh processes, median of ${runs} interleaved:`,
    ...[...figures].map(
      ([name, f]) => `  ${name}: ${f.wallMs.toFixed(0)} ms wall, ${f.cpuMs.toFixed(0)} ms CPU`,
    ),
  ];
}
