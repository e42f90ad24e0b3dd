import { Annotations, type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StageConfig } from '../config/stage-config.ts';
import type { Registry } from '../registry/index.ts';
import { type DeployedRegistryInput, gateDeploy } from './deploy-gate.ts';
import { FstoreStack } from './fstore-stack.ts';
import { stackName } from './stack-name.ts';

export interface BuildAppProps {
  /** The app to add the stacks to; its context is not read here. */
  readonly app: App;
  /** The validated stage config (see resolveStageConfig). */
  readonly stage: StageConfig;
  /** The compiled registry the stacks are built from. */
  readonly registry: Registry;
  /**
   * The registry the environment runs now (`-c deployedRegistry=<file>`); a breaking change
   * against it refuses synthesis. Undefined: not checked, and synthesis warns.
   */
  readonly deployed?: DeployedRegistryInput;
  /** Definitions whose breaking changes are accepted (`-c allowBreaking=a,b`). */
  readonly allowBreaking?: readonly string[];
}

export { stackName };

/**
 * Adds one environment's stacks to `app`, tagged with `fstore:env` and the stage tags, with
 * cdk-nag AwsSolutions checks on the whole app. Not with the registry version: that tag would
 * change every resource at every definition edit; the version is in the registry record, the
 * RegistryVersion output and `fstore plan` (ADR 0012). The stacks are environment-agnostic
 * unless the stage names an account. A registry that breaks the deployed one is refused here,
 * before any stack is built (see deploy-gate.ts).
 */
export function buildApp({ app, stage, registry, deployed, allowBreaking = [] }: BuildAppProps): {
  stack: FstoreStack;
} {
  const gateWarnings = gateDeploy({
    stackName: stackName(stage),
    registry,
    deployed,
    allowBreaking,
    fetchHint: `Fetch it with \`fstore plan --env ${stage.name} --bucket <ArtifactsBucketName> --save-deployed <file>\` (see README, "Deploy gate").`,
  });
  const stack = new FstoreStack(app, stackName(stage), {
    stage,
    registry,
    ...(stage.account ? { env: { account: stage.account, region: stage.region } } : {}),
    description: `fstore feature store, environment ${stage.name}`,
  });
  Tags.of(stack).add('fstore:env', stage.name);
  for (const [key, value] of Object.entries(stage.tags)) Tags.of(stack).add(key, value);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  for (const { id, message } of gateWarnings) Annotations.of(stack).addWarningV2(id, message);
  return { stack };
}
