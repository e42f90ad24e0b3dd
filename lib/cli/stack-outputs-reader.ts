// Types only: the SDK loads when a stack is read, not when a command imports these helpers.
import type {
  CloudFormationClient,
  DescribeStacksCommandOutput,
  Stack,
} from '@aws-sdk/client-cloudformation';
import type { ArnScope } from '../iam/policy-statement.ts';
import { CliError } from './cli-error.ts';

/** One feature service's Athena objects, from the stack's `Service<Name>...` outputs. */
export interface ServiceOutputs {
  readonly requestTable?: string;
  readonly statement: string;
  readonly requestPrefix?: string;
  /** What each `?` of the statement stands for, in `EXECUTE ... USING` order. */
  readonly parameters?: readonly string[];
}

/** What a deployed environment stack says about itself. */
export interface EnvironmentStackOutputs {
  readonly stackName: string;
  readonly stackId: string;
  readonly status: string;
  /** Partition, region and account, from the stack's ARN. */
  readonly scope: ArnScope;
  /** Every output, by OutputKey. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Per feature service (named as in the registry). */
  readonly services: Readonly<Record<string, ServiceOutputs>>;
}

/**
 * Reads `stackName`'s outputs with DescribeStacks (following NextToken, which CloudFormation may
 * return even for one stack). A stack that does not exist and missing credentials are CliErrors
 * that say what to do.
 */
export async function readStackOutputs(
  client: CloudFormationClient,
  stackName: string,
  region: string,
): Promise<EnvironmentStackOutputs> {
  let stack: Stack | undefined;
  let token: string | undefined;
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  try {
    do {
      const page: DescribeStacksCommandOutput = await client.send(
        new DescribeStacksCommand({ StackName: stackName, ...(token ? { NextToken: token } : {}) }),
      );
      stack = page.Stacks?.find((s) => s.StackName === stackName);
      token = stack ? undefined : page.NextToken;
    } while (token);
  } catch (error) {
    throw describeError(error, stackName, region);
  }
  if (!stack?.StackId) throw missingStack(stackName, region);
  const outputs = Object.fromEntries(
    (stack.Outputs ?? []).flatMap((o) =>
      o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [],
    ),
  );
  return {
    stackName,
    stackId: stack.StackId,
    status: stack.StackStatus ?? 'UNKNOWN',
    scope: scopeOfArn(stack.StackId),
    outputs,
    services: servicesOf(outputs),
  };
}

/** `arn:aws:cloudformation:eu-west-1:111122223333:stack/fstore-prod/<uuid>` → its scope. */
export function scopeOfArn(arn: string): ArnScope {
  const [prefix, partition, , region, account] = arn.split(':');
  if (prefix !== 'arn' || !partition || !region || !account)
    throw new Error(
      `"${arn}" is not a stack ARN (arn:<partition>:cloudformation:<region>:<account>:stack/...)`,
    );
  return { partition, region, account };
}

/**
 * Services from their `Service<Name>Statement` outputs: the statement is `fstore_<service>`, so
 * the value gives the registry's name (the key's PascalCase does not).
 */
function servicesOf(outputs: Record<string, string>): Record<string, ServiceOutputs> {
  const services: Record<string, ServiceOutputs> = {};
  for (const [key, value] of Object.entries(outputs)) {
    const match = /^(Service[A-Za-z0-9]+)Statement$/.exec(key);
    if (!match || !value.startsWith('fstore_')) continue;
    const base = match[1];
    const requestTable = outputs[`${base}RequestTable`];
    const requestPrefix = outputs[`${base}RequestPrefix`];
    const parameters = outputs[`${base}Parameters`];
    services[value.slice('fstore_'.length)] = {
      statement: value,
      ...(requestTable ? { requestTable } : {}),
      ...(requestPrefix ? { requestPrefix } : {}),
      ...(parameters ? { parameters: parameters.split(',') } : {}),
    };
  }
  return services;
}

/** An output the caller needs, or a CliError naming it and the stack. */
export function requiredOutput(stack: EnvironmentStackOutputs, name: string): string {
  const value = stack.outputs[name];
  if (value !== undefined) return value;
  throw new CliError(`stack ${stack.stackName} has no output "${name}"`, {
    hint: `deploy this version of fstore to it (npx cdk deploy -c env=...); it has: ${Object.keys(stack.outputs).sort().join(', ') || 'no outputs'}`,
  });
}

function missingStack(stackName: string, region: string, cause?: unknown): CliError {
  return new CliError(`no stack "${stackName}" in region ${region}`, {
    hint: `deploy it with \`npx cdk deploy -c env=${stackName.replace(/^fstore-/, '')}\`, or set AWS_REGION to the region it is in`,
    cause,
  });
}

function describeError(error: unknown, stackName: string, region: string): CliError {
  const { name = '', message = '' } = error as { name?: string; message?: string };
  if (name === 'ValidationError' && /does not exist/.test(message))
    return missingStack(stackName, region, error);
  if (name === 'CredentialsProviderError' || /credential/i.test(message))
    return new CliError(`no AWS credentials to read stack ${stackName}: ${message}`, {
      hint: 'set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or pass --account and --region to work offline where the command allows it',
      cause: error,
    });
  return new CliError(`could not read stack ${stackName} in ${region}: ${name} ${message}`.trim(), {
    hint: 'the role needs cloudformation:DescribeStacks on the stack',
    cause: error,
  });
}

/** A CloudFormation client for `region`, built once per command. */
export async function cloudFormationClient(region: string): Promise<CloudFormationClient> {
  const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation');
  return new CloudFormationClient({ region });
}
