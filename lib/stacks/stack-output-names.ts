// Kept apart from stack-outputs.ts so the CLI reads these names without loading aws-cdk-lib.
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
  compactionRoleArn: 'CompactionRoleArn',
  auditKeySecretArn: 'AuditKeySecretArn',
  erasureOperatorPolicyArn: 'ErasureOperatorPolicyArn',
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
