import type { StageConfig } from '../config/stage-config.ts';

/** The CloudFormation stack name of one environment (its own file so the CLI reads it without loading aws-cdk-lib). */
export function stackName(stage: StageConfig): string {
  return `fstore-${stage.name}`;
}
