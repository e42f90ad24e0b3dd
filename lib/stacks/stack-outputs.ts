import { CfnOutput, type Stack } from 'aws-cdk-lib';

export { outputsPerService, serviceOutputNames, stackOutputNames } from './stack-output-names.ts';

import { outputsPerService } from './stack-output-names.ts';

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
