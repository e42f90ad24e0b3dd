import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StageConfig } from '../config/stage-config.ts';
import type { Registry } from '../registry/index.ts';
import { FstoreStack } from './fstore-stack.ts';

export interface BuildAppProps {
  readonly app: App;
  readonly stage: StageConfig;
  readonly registry: Registry;
}

export function stackName(stage: StageConfig): string {
  return `fstore-${stage.name}`;
}

/** Adds one environment's stacks to `app`, with cdk-nag AwsSolutions checks on everything. */
export function buildApp({ app, stage, registry }: BuildAppProps): { stack: FstoreStack } {
  const stack = new FstoreStack(app, stackName(stage), {
    stage,
    registry,
    ...(stage.account ? { env: { account: stage.account, region: stage.region } } : {}),
    description: `fstore feature store, environment ${stage.name}`,
  });
  Tags.of(app).add('fstore:env', stage.name);
  Tags.of(app).add('fstore:registry-version', registry.version);
  for (const [key, value] of Object.entries(stage.tags)) Tags.of(app).add(key, value);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stack };
}
