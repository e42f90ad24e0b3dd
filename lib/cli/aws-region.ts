import { resolveStageConfig } from '../config/stages.ts';

/** The region of an AWS environment: AWS_REGION, else the stage config's. */
export function awsRegion(env: string): string {
  return process.env.AWS_REGION ?? resolveStageConfig(env).region;
}
