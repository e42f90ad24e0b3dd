import { CfnOutput, type Stack } from 'aws-cdk-lib';
import { pascal } from '../constructs/logical-id.ts';

/**
 * The names of an environment stack's outputs (CloudFormation OutputKeys), stable across
 * deploys: what a training job or an outside role needs, read by `fstore describe --outputs`.
 */
export const stackOutputNames = {
  offlineBucket: 'OfflineBucketName',
  glueDatabase: 'GlueDatabase',
  athenaWorkGroup: 'AthenaWorkGroup',
  lookupApiUrl: 'LookupApiUrl',
  lookupApiId: 'LookupApiId',
} as const;

/** Output names of one feature service's Athena objects (`ServiceChurnV1Statement` ...). */
export function serviceOutputNames(service: string) {
  const base = `Service${pascal(service)}`;
  return {
    requestTable: `${base}RequestTable`,
    statement: `${base}Statement`,
    requestPrefix: `${base}RequestPrefix`,
    parameters: `${base}Parameters`,
  } as const;
}

/** How many outputs each feature service adds (`serviceOutputNames`). */
export const outputsPerService = Object.keys(serviceOutputNames('service')).length;

/** CloudFormation refuses a template with more outputs than this; the quota cannot be raised. */
export const maxStackOutputs = 200;

/**
 * Throws at synth, naming the count and the services' share, when `stack` declares more outputs
 * than CloudFormation accepts (each feature service adds `outputsPerService`), rather than failing the deploy.
 */
export function checkOutputCount(stack: Stack): void {
  const outputs = stack.node.findAll().filter((c) => c instanceof CfnOutput);
  if (outputs.length <= maxStackOutputs) return;
  const perService = outputs.filter((o) => o.node.id.startsWith('Service')).length;
  throw new Error(
    `stack ${stack.stackName} declares ${outputs.length} outputs (${perService} for feature services, ${outputsPerService} each); CloudFormation accepts at most ${maxStackOutputs}: merge feature services or split the registry into environments`,
  );
}
