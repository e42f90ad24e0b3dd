import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, repoRoot } from '../helpers/run-fstore.ts';

/** A synthesized Lambda function: its bundle on disk and its environment as the template sets it. */
export interface SynthesizedFunction {
  readonly logicalId: string;
  readonly bundle: string;
  readonly environment: Readonly<Record<string, unknown>>;
}

export interface FunctionResource {
  Type: string;
  Properties: {
    Handler?: string;
    Code?: { S3Key?: unknown };
    Environment?: { Variables?: Record<string, unknown> };
  };
}

/**
 * The bundled ESM functions of a synthesized stack: each function whose code is a file asset
 * (`<hash>.zip`, staged as the folder `asset.<hash>` of the cloud assembly) holding
 * `<handler module>.mjs`.
 */
export function synthesizedFunctions(
  template: { Resources: Record<string, FunctionResource> },
  outdir: string,
): SynthesizedFunction[] {
  return Object.entries(template.Resources).flatMap(([logicalId, r]) => {
    const key = r.Properties?.Code?.S3Key;
    if (r.Type !== 'AWS::Lambda::Function' || typeof key !== 'string') return [];
    const module = (r.Properties.Handler ?? '').replace(/\.[^.]+$/, '');
    const bundle = path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`, `${module}.mjs`);
    if (!existsSync(bundle)) return [];
    return [{ logicalId, bundle, environment: r.Properties.Environment?.Variables ?? {} }];
  });
}

/**
 * The function's environment with the values CloudFormation would resolve (Refs, imports)
 * given by `resolved`; throws naming a variable the template resolves at deploy time and
 * `resolved` does not give, so a new variable cannot go unnoticed.
 */
export function runtimeEnvironment(
  fn: SynthesizedFunction,
  resolved: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fn.environment).map(([name, value]) => {
      if (name in resolved) return [name, resolved[name] as string];
      if (typeof value === 'string') return [name, value];
      throw new Error(
        `${fn.logicalId}: environment variable ${name} is resolved at deploy time (${JSON.stringify(value)}); give the smoke test a value for it`,
      );
    }),
  );
}

/**
 * Makes `@aws-sdk/*` (and nothing else) resolvable from the assembly's asset folders, as the
 * Lambda Node.js runtime provides it: a node_modules beside them holding a link to the SDK.
 */
export async function provideRuntimeSdk(outdir: string): Promise<void> {
  const modules = path.join(outdir, 'node_modules');
  await mkdir(modules, { recursive: true });
  const link = path.join(modules, '@aws-sdk');
  if (!existsSync(link)) await symlink(path.join(repoRoot, 'node_modules', '@aws-sdk'), link);
}

export interface BundleInvocation {
  readonly results: readonly (
    | { response: unknown; error?: undefined }
    | { error: { name: string; message: string } }
  )[];
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `bundle` in a fresh Node process with only `environment` (plus PATH), invokes its
 * handler with each event and returns the results; the process failing to load the bundle
 * (a missing module, an undefined constant) rejects with its stderr.
 */
export async function invokeBundle(
  bundle: string,
  environment: Readonly<Record<string, string>>,
  events: readonly unknown[],
): Promise<BundleInvocation> {
  const dir = await makeTempDir('bundle-invoke');
  const input = path.join(dir, 'input.json');
  const output = path.join(dir, 'output.json');
  await writeFile(input, JSON.stringify({ events }));
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'test/helpers/invoke-bundle.mjs'), bundle, input, output],
    { env: { PATH: process.env.PATH ?? '', ...environment }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0)
    throw new Error(
      `the bundle ${bundle} failed in a fresh Node process (exit ${code}):\n${stderr}`,
    );
  const { results } = JSON.parse(await readFile(output, 'utf8')) as Pick<
    BundleInvocation,
    'results'
  >;
  return { results, stdout, stderr };
}
