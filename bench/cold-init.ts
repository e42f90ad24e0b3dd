/**
 * Cold module initialization of Lambda bundles. Each probe is a fresh Node process that imports
 * a bundle and reports the import's wall time and the CPU time the process spent in it (CPU
 * time moves less than wall time when other work shares the machine). The probes run in turn,
 * `runs` times each, interleaved so load hits them alike. Each runs in the bundle's folder,
 * whose node_modules holds only what the Lambda runtime provides (`@aws-sdk/*`), with the
 * environment Lambda gives a function (region, credentials) and the function's own variables.
 * A probe with an `invocation` then calls the bundle's handler once with that event and
 * reports that call too: the first request of a container pays for whatever init deferred.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { median } from './interleave.ts';

const run = promisify(execFile);

export interface InitSample {
  readonly wallMs: number;
  readonly cpuMs: number;
  /** The first handler call, when the probe has an invocation. */
  readonly first?: { readonly wallMs: number; readonly cpuMs: number };
}

export interface InitFigure {
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Medians of the first call and of init plus the first call, when the probe has an invocation. */
  readonly first?: { readonly wallMs: number; readonly cpuMs: number };
  readonly initPlusFirst?: { readonly wallMs: number; readonly cpuMs: number };
  readonly samples: readonly InitSample[];
}

/** One call of the bundle's exported `handler` after its import, with a Lambda-like context. */
export interface FirstInvocation {
  readonly event: unknown;
  /** Extra environment for this probe (e.g. the local DynamoDB endpoint). */
  readonly env?: Readonly<Record<string, string>>;
  /** Fails the probe unless the handler's answer has this statusCode. */
  readonly expectStatus: number;
}

export interface InitProbe {
  /** What the probe loads, for the report. */
  readonly name: string;
  /** An ESM file, in a folder set up as the Lambda runtime would see it. */
  readonly bundle: string;
  readonly nodeFlags?: readonly string[];
  readonly invocation?: FirstInvocation;
}

const context = {
  functionName: 'fstore-bench-lookup',
  functionVersion: '$LATEST',
  awsRequestId: 'bench-first',
  memoryLimitInMB: '512',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:fstore-bench-lookup',
};

/**
 * The probe's script: CPU and wall time of the import, then of one handler call. The handler
 * may write to standard output (EMF lines), so the figures are the last line.
 */
const measure = (bundle: string, invocation?: FirstInvocation) => `
const cpu = process.cpuUsage(); const started = performance.now();
const mod = await import(${JSON.stringify(bundle)});
const wallMs = performance.now() - started; const used = process.cpuUsage(cpu);
let first;
${
  invocation
    ? `const cpu2 = process.cpuUsage(); const started2 = performance.now();
const response = await mod.handler(${JSON.stringify(invocation.event)}, { ...${JSON.stringify(context)}, getRemainingTimeInMillis: () => 10000 });
const used2 = process.cpuUsage(cpu2);
first = { wallMs: performance.now() - started2, cpuMs: (used2.user + used2.system) / 1000 };
if (response.statusCode !== ${invocation.expectStatus}) throw new Error('first invocation answered ' + response.statusCode + ': ' + response.body);`
    : ''
}
process.stdout.write('\\n' + JSON.stringify({ wallMs, cpuMs: (used.user + used.system) / 1000, first }));`;

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
        [
          ...(probe.nodeFlags ?? []),
          '--input-type=module',
          '-e',
          measure(probe.bundle, probe.invocation),
        ],
        {
          env: { PATH: process.env.PATH ?? '', ...lambdaEnvironment, ...probe.invocation?.env },
          encoding: 'utf8',
        },
      );
      const figures = stdout.slice(stdout.lastIndexOf('\n') + 1);
      samples.get(probe.name)?.push(JSON.parse(figures) as InitSample);
    }
  }
  return new Map([...samples].map(([name, list]) => [name, summarize(list)]));
}

function summarize(list: readonly InitSample[]): InitFigure {
  const init = {
    wallMs: median(list.map((s) => s.wallMs)),
    cpuMs: median(list.map((s) => s.cpuMs)),
  };
  const firsts = list.flatMap((s) => (s.first ? [{ ...s.first, init: s }] : []));
  if (firsts.length === 0) return { ...init, samples: list };
  return {
    ...init,
    first: {
      wallMs: median(firsts.map((f) => f.wallMs)),
      cpuMs: median(firsts.map((f) => f.cpuMs)),
    },
    initPlusFirst: {
      wallMs: median(firsts.map((f) => f.wallMs + f.init.wallMs)),
      cpuMs: median(firsts.map((f) => f.cpuMs + f.init.cpuMs)),
    },
    samples: list,
  };
}

export function describeColdInit(figures: ReadonlyMap<string, InitFigure>, runs: number): string[] {
  return [
    `cold module init, fresh processes, median of ${runs} interleaved:`,
    ...[...figures].flatMap(([name, f]) => [
      `  ${name}: ${f.wallMs.toFixed(0)} ms wall, ${f.cpuMs.toFixed(0)} ms CPU`,
      ...(f.first && f.initPlusFirst
        ? [
            `    first invocation ${f.first.wallMs.toFixed(0)} ms wall, ${f.first.cpuMs.toFixed(0)} ms CPU; init + first ${f.initPlusFirst.wallMs.toFixed(0)} ms wall, ${f.initPlusFirst.cpuMs.toFixed(0)} ms CPU`,
          ]
        : []),
    ]),
  ];
}
