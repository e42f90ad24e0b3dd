import { App } from 'aws-cdk-lib';
import { stageOverridesFromContext } from '../lib/config/context-overrides.ts';
import { mergeStageOverrides, resolveStageConfig, StageConfigError } from '../lib/config/stages.ts';
import { DefinitionError } from '../lib/definitions/index.ts';
import { HintedError } from '../lib/hinted-error.ts';
import { readRegistryFile } from '../lib/local/registry-store.ts';
import { parseAllowBreaking } from '../lib/registry/breaking-allowance.ts';
import { compileRegistry, loadDefinitions } from '../lib/registry/index.ts';
import { buildApp } from '../lib/stacks/build-app.ts';

/**
 * The CDK app; the only place that reads context. `-c env=<name>` picks the stage (default
 * `dev`, from cdk.json; defaults per name in lib/config/stages.ts), `-c defs=<folder>` the
 * definitions (default `feature-defs`). `-c account=` / `-c region=` pin the target, else the
 * CLI's credentials decide (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION); without an account the
 * stacks are environment-agnostic, so synthesis needs no credentials. Stage options come from
 * the context too: `stages.<env>` in cdk.json, and single keys such as `-c alarmEmail=` (see
 * lib/config/context-overrides.ts). `-c deployedRegistry=<file>` is the registry the environment
 * runs now: a breaking change against it fails synthesis unless `-c allowBreaking=<name>[,...]`
 * names it; without it synthesis warns that nothing was checked.
 */
async function main(): Promise<void> {
  const app = new App();
  const context = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === '' ? undefined : String(value);
  };
  const env = context('env') ?? 'dev';
  const { CDK_DEFAULT_ACCOUNT: account, CDK_DEFAULT_REGION: region } = process.env;
  const fromCredentials = { ...(account ? { account } : {}), ...(region ? { region } : {}) };
  const fromContext = stageOverridesFromContext(env, (key) => app.node.tryGetContext(key));
  const stage = resolveStageConfig(env, mergeStageOverrides(fromCredentials, fromContext));
  const registry = compileRegistry(await loadDefinitions(context('defs') ?? 'feature-defs'));
  const deployed = await readDeployedRegistryContext(context('deployedRegistry'));
  const allowBreaking = parseAllowBreaking(context('allowBreaking'));
  buildApp({ app, stage, registry, deployed, allowBreaking });
  app.synth();
}

/** `-c deployedRegistry=<file>`: the registry the environment runs, fetched by `fstore plan`. */
async function readDeployedRegistryContext(file: string | undefined) {
  if (file === undefined) return undefined;
  const registry = await readRegistryFile(file);
  if (!registry)
    throw new HintedError(
      `-c deployedRegistry=${file} does not exist`,
      'write it with `fstore plan --env <env> --bucket <ArtifactsBucketName> --save-deployed <file>`',
    );
  return { registry, source: file };
}

try {
  await main();
} catch (error) {
  const userError =
    error instanceof StageConfigError ||
    error instanceof HintedError ||
    error instanceof DefinitionError;
  if (!userError) throw error;
  const hint = error instanceof HintedError && error.hint ? `\n  hint: ${error.hint}` : '';
  console.error(`fstore CDK app: ${error.message}${hint}`);
  process.exitCode = 1;
}
