import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { checkOutputCount, maxStackOutputs } from '../../lib/stacks/stack-outputs.ts';

function stackWithOutputs(services: number, others: number): Stack {
  const stack = new Stack(new App(), 'fstore-prod');
  for (let i = 0; i < services; i++)
    for (const kind of ['RequestTable', 'Statement', 'RequestPrefix', 'Parameters'])
      new CfnOutput(stack, `ServiceS${i}${kind}`, { value: 'x' });
  for (let i = 0; i < others; i++) new CfnOutput(stack, `Other${i}`, { value: 'x' });
  return stack;
}

describe('the stack output limit', () => {
  it(`accepts ${maxStackOutputs} outputs`, () => {
    expect(() => checkOutputCount(stackWithOutputs(45, 20))).not.toThrow();
  });

  it('refuses one more at synth, naming the count and the services’ share', () => {
    expect(() => checkOutputCount(stackWithOutputs(45, 21))).toThrow(
      'stack fstore-prod declares 201 outputs (180 for feature services, 4 each); CloudFormation accepts at most 200',
    );
  });
});
