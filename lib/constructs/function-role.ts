import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * A Lambda execution role that may write logs to `logGroup` only. Lambda's default role carries
 * the managed AWSLambdaBasicExecutionRole, whose log actions cover every log group of the
 * account; grants for the function's work are added to this role by the caller.
 */
export function functionRole(
  scope: Construct,
  id: string,
  props: { readonly logGroup: logs.ILogGroup; readonly description: string },
): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.description,
    inlinePolicies: {
      logs: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            // The group's Arn attribute ends in `:*`, which covers its log streams.
            resources: [props.logGroup.logGroupArn],
          }),
        ],
      }),
    },
  });
}
