import path from 'node:path';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../lib/cli/run-cli.ts';
import { readStackOutputs, scopeOfArn } from '../../../lib/cli/stack-outputs-reader.ts';
import { offlineResourcesOf } from '../../../lib/iam/environment-resources.ts';
import { lookupStatements } from '../../../lib/iam/lookup-policy.ts';
import {
  compactStatements,
  ingestStatements,
  trainingStatements,
} from '../../../lib/iam/offline-policy.ts';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const cloudFormation = mockClient(CloudFormationClient);
const registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
const stackId = 'arn:aws:cloudformation:eu-west-1:111122223333:stack/fstore-prod/0b1c2d3e';
const outputs = {
  OfflineBucketName: 'fstore-prod-offlinestoredata-abc',
  GlueDatabase: 'fstore_prod',
  AthenaWorkGroup: 'fstore-prod',
  LookupApiUrl: 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
  LookupApiId: 'a1b2c3d4e5',
  ServiceChurnV1RequestTable: 'fstore_requests_churn_v1',
  ServiceChurnV1Statement: 'fstore_churn_v1',
  ServiceChurnV1RequestPrefix: 's3://fstore-prod-offlinestoredata-abc/requests/churn_v1/',
  ServiceChurnV1Parameters: 'request_id,min,max,min,max,max',
  ServiceChurnOnlineStatement: 'fstore_churn_online',
};
const prodStack: Stack = {
  StackName: 'fstore-prod',
  StackId: stackId,
  StackStatus: 'UPDATE_COMPLETE',
  CreationTime: new Date(0),
  Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
};

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

beforeEach(() => {
  cloudFormation.reset();
});

describe('reading an environment stack’s outputs (DescribeStacks, aws-sdk-client-mock)', () => {
  const read = () => readStackOutputs(new CloudFormationClient({}), 'fstore-prod', 'eu-west-1');

  it('returns every output, the services by registry name and the scope from the stack ARN', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [prodStack] });
    const stack = await read();
    expect(stack.outputs).toEqual(outputs);
    expect(stack.scope).toEqual({ partition: 'aws', region: 'eu-west-1', account: '111122223333' });
    expect(stack.status).toBe('UPDATE_COMPLETE');
    expect(stack.services).toEqual({
      churn_v1: {
        statement: 'fstore_churn_v1',
        requestTable: 'fstore_requests_churn_v1',
        requestPrefix: 's3://fstore-prod-offlinestoredata-abc/requests/churn_v1/',
        parameters: ['request_id', 'min', 'max', 'min', 'max', 'max'],
      },
      churn_online: { statement: 'fstore_churn_online' },
    });
    expect(cloudFormation.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({
      StackName: 'fstore-prod',
    });
  });

  it('follows NextToken until the stack is on a page', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolvesOnce({ Stacks: [], NextToken: 'page-2' })
      .resolvesOnce({ Stacks: [prodStack] });
    expect((await read()).outputs.LookupApiId).toBe('a1b2c3d4e5');
    expect(cloudFormation.commandCalls(DescribeStacksCommand)[1]?.args[0].input).toEqual({
      StackName: 'fstore-prod',
      NextToken: 'page-2',
    });
  });

  it('says the stack does not exist in the region, and how to deploy it', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id fstore-prod does not exist'));
    await expect(read()).rejects.toMatchObject({
      message: 'no stack "fstore-prod" in region eu-west-1',
      hint: expect.stringContaining('npx cdk deploy -c env=prod'),
    });
  });

  it('says so when the pages end without the stack', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [] });
    await expect(read()).rejects.toThrow('no stack "fstore-prod" in region eu-west-1');
  });

  it('says credentials are missing, and how to give them', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(
        awsError('CredentialsProviderError', 'Could not load credentials from any providers'),
      );
    await expect(read()).rejects.toMatchObject({
      message: expect.stringContaining('no AWS credentials to read stack fstore-prod'),
      hint: expect.stringContaining('AWS_PROFILE'),
    });
  });

  it('refuses an ARN that is not a stack ARN', () => {
    expect(() => scopeOfArn('fstore-prod')).toThrow('"fstore-prod" is not a stack ARN');
  });
});

describe('fstore describe --outputs and fstore iam-policy (in process)', () => {
  let stdout = '';
  let stderr = '';
  beforeEach(() => {
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    vi.stubEnv('AWS_REGION', 'eu-west-1');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    process.exitCode = undefined;
  });
  const fstore = (...args: string[]) =>
    runCli(['node', 'fstore', '--defs', path.join(repoRoot, 'feature-defs'), ...args], '0.0.0');

  it('describe --env prod --outputs --json prints the stack outputs and services', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [prodStack] });
    expect(await fstore('describe', '--env', 'prod', '--outputs', '--json'), stderr).toBe(0);
    const printed = JSON.parse(stdout);
    expect(printed).toMatchObject({ env: 'prod', stackName: 'fstore-prod', outputs });
    expect(printed.services.churn_v1.statement).toBe('fstore_churn_v1');
    expect(printed.services.churn_v1.parameters).toEqual([
      'request_id',
      'min',
      'max',
      'min',
      'max',
      'max',
    ]);
  });

  it('describe --env prod --outputs prints a table naming each output', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [prodStack] });
    expect(await fstore('describe', '--env', 'prod', '--outputs'), stderr).toBe(0);
    expect(stdout).toContain(
      'stack fstore-prod (UPDATE_COMPLETE) in eu-west-1, account 111122223333',
    );
    for (const [key, value] of Object.entries(outputs)) {
      const line = stdout.split('\n').find((l) => l.includes(` ${key} `));
      expect(line, key).toContain(value);
    }
  });

  it('describe --outputs in a local env gives the local equivalents, without AWS', async () => {
    expect(await fstore('describe', '--env', 'local', '--outputs', '--json'), stderr).toBe(0);
    const printed = JSON.parse(stdout);
    expect(printed).toMatchObject({ env: 'local', local: true, offlineEngine: 'DuckDB' });
    expect(printed.offlineData).toMatch(/[/\\]local[/\\]offline$/);
    expect(Object.keys(printed.services).sort()).toEqual(['churn_online', 'churn_v1']);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('describe refuses a name together with --outputs, and neither', async () => {
    expect(await fstore('describe', 'churn_v1', '--outputs')).toBe(2);
    expect(stderr).toContain('describe takes a name or --outputs, not both');
    expect(await fstore('describe')).toBe(2);
    expect(stderr).toContain('describe needs a name, or --outputs');
  });

  it('iam-policy --for training from the stack outputs prints the training statements for those names', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [prodStack] });
    expect(await fstore('iam-policy', '--env', 'prod', '--for', 'training'), stderr).toBe(0);
    const scope = { partition: 'aws', region: 'eu-west-1', account: '111122223333' };
    expect(JSON.parse(stdout)).toEqual({
      Version: '2012-10-17',
      Statement: trainingStatements(
        offlineResourcesOf(registry, 'prod', scope, outputs.OfflineBucketName),
      ),
    });
  });

  it('iam-policy --for training names the request tables of the deployed services, from the stack outputs, not the local checkout', async () => {
    // Deployed: churn_v1 and fraud_v2; the checkout has churn_v1 and churn_online instead.
    const deployed: Stack = {
      ...prodStack,
      Outputs: [
        ...(prodStack.Outputs ?? []).filter((o) => !o.OutputKey?.startsWith('ServiceChurnOnline')),
        { OutputKey: 'ServiceFraudV2Statement', OutputValue: 'fstore_fraud_v2' },
        { OutputKey: 'ServiceFraudV2RequestTable', OutputValue: 'fstore_requests_fraud_v2' },
      ],
    };
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [deployed] });
    expect(await fstore('iam-policy', '--env', 'prod', '--for', 'training', '--json'), stderr).toBe(
      0,
    );
    const printed = JSON.parse(stdout);
    const scope = { partition: 'aws', region: 'eu-west-1', account: '111122223333' };
    expect(printed.policy.Statement).toEqual(
      trainingStatements({
        ...offlineResourcesOf(registry, 'prod', scope, outputs.OfflineBucketName),
        requestTables: ['fstore_requests_churn_v1', 'fstore_requests_fraud_v2'],
      }),
    );
    const glue = JSON.stringify(printed.policy.Statement);
    expect(glue).toContain('table/fstore_prod/fstore_requests_fraud_v2');
    expect(glue).not.toContain('fstore_requests_churn_online');
    expect(printed.warnings).toEqual([]);
    expect(stderr).not.toContain('warning');
  });

  it('iam-policy --for training falls back to the local definitions, with a warning, when the stack publishes no services', async () => {
    const older: Stack = {
      ...prodStack,
      Outputs: (prodStack.Outputs ?? []).filter((o) => !o.OutputKey?.startsWith('Service')),
    };
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [older] });
    expect(await fstore('iam-policy', '--env', 'prod', '--for', 'training'), stderr).toBe(0);
    const scope = { partition: 'aws', region: 'eu-west-1', account: '111122223333' };
    expect(JSON.parse(stdout).Statement).toEqual(
      trainingStatements(offlineResourcesOf(registry, 'prod', scope, outputs.OfflineBucketName)),
    );
    expect(stderr).toMatch(
      /warning: stack fstore-prod has no Service<Name>Statement outputs: the request tables are named from the local definitions \(fstore_requests_churn_online, fstore_requests_churn_v1\)/,
    );
  });

  it('iam-policy offline (--account, --region, --bucket / --api-id) needs no credentials', async () => {
    const scope = { partition: 'aws', region: 'us-east-2', account: '444455556666' };
    expect(
      await fstore(
        'iam-policy',
        '--env',
        'prod',
        '--for',
        'lookup',
        '--account',
        scope.account,
        '--region',
        scope.region,
        '--api-id',
        'zz9',
        '--json',
      ),
      stderr,
    ).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      for: 'lookup',
      namesFrom: 'command-line flags and the registry',
      policy: { Version: '2012-10-17', Statement: lookupStatements(scope, 'zz9') },
    });
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('iam-policy offline takes the partition from the region (aws-cn for cn-*, aws-us-gov for us-gov-*)', async () => {
    const push = (region: string, ...more: string[]) =>
      fstore(
        'iam-policy',
        '--env',
        'prod',
        '--for',
        'ingest',
        '--account',
        '111122223333',
        '--region',
        region,
        '--bucket',
        'b1',
        ...more,
      );
    for (const [region, partition] of [
      ['cn-north-1', 'aws-cn'],
      ['us-gov-west-1', 'aws-us-gov'],
      ['us-east-1', 'aws'],
    ]) {
      stdout = '';
      expect(await push(region ?? ''), stderr).toBe(0);
      const resources = JSON.parse(stdout).Statement.flatMap(
        (s: { Resource: string | string[] }) => s.Resource,
      );
      expect(resources, region).toContain(`arn:${partition}:s3:::b1`);
      expect(
        resources.every((r: string) => r.startsWith(`arn:${partition}:`)),
        region,
      ).toBe(true);
    }
  });

  it('iam-policy refuses a --partition the region is not in, naming both', async () => {
    expect(
      await fstore(
        'iam-policy',
        '--env',
        'prod',
        '--for',
        'ingest',
        '--account',
        '111122223333',
        '--region',
        'cn-north-1',
        '--bucket',
        'b1',
        '--partition',
        'aws',
      ),
    ).toBe(2);
    expect(stderr).toContain(
      '--partition "aws" does not match region cn-north-1, which is in partition aws-cn',
    );
  });

  it('iam-policy --for ingest prints the policy of fstore ingest --env <aws>', async () => {
    expect(
      await fstore(
        'iam-policy',
        '--env',
        'prod',
        '--for',
        'ingest',
        '--account',
        '111122223333',
        '--region',
        'eu-west-1',
        '--bucket',
        'b1',
      ),
      stderr,
    ).toBe(0);
    expect(JSON.parse(stdout).Statement).toEqual(
      ingestStatements(
        'arn:aws:s3:::b1',
        registry.sources.map((s) => ({ name: s.name, s3Prefix: s.offline.s3Prefix })),
      ),
    );
  });

  it('iam-policy --for push grants invoke on the push route only, from the stack outputs or offline', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [prodStack] });
    expect(await fstore('iam-policy', '--env', 'prod', '--for', 'push'), stderr).toBe(0);
    expect(JSON.parse(stdout).Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['execute-api:Invoke'],
        Resource: [
          `arn:aws:execute-api:eu-west-1:111122223333:${outputs.LookupApiId}/*/POST/v1/push/*`,
        ],
      },
    ]);
    expect(stderr).toContain('a producer with it cannot look features up');
    stdout = '';
    const offline = [
      'iam-policy',
      '--env',
      'prod',
      '--for',
      'push',
      '--account',
      '444455556666',
      '--region',
      'us-east-2',
    ];
    expect(await fstore(...offline)).toBe(2);
    expect(stderr).toContain('--account works offline, so it needs --api-id');
    stdout = '';
    expect(await fstore(...offline, '--api-id', 'zz9'), stderr).toBe(0);
    const resources = JSON.parse(stdout).Statement.flatMap(
      (s: { Resource: string[] }) => s.Resource,
    );
    expect(resources).toEqual(['arn:aws:execute-api:us-east-2:444455556666:zz9/*/POST/v1/push/*']);
    expect(resources.some((r: string) => r.includes('/v1/features'))).toBe(false);
  });

  it('iam-policy --for push --source grants the push route of the named sources only, and refuses an unknown one', async () => {
    const offline = [
      'iam-policy',
      '--env',
      'prod',
      '--for',
      'push',
      '--account',
      '444455556666',
      '--region',
      'us-east-2',
      '--api-id',
      'zz9',
    ];
    expect(await fstore(...offline, '--source', 'orders', 'customer_profiles'), stderr).toBe(0);
    expect(JSON.parse(stdout).Statement[0].Resource).toEqual([
      'arn:aws:execute-api:us-east-2:444455556666:zz9/*/POST/v1/push/orders',
      'arn:aws:execute-api:us-east-2:444455556666:zz9/*/POST/v1/push/customer_profiles',
    ]);
    stdout = '';
    expect(await fstore(...offline, '--source', 'ordrs')).toBe(2);
    expect(stderr).toContain('--source "ordrs" is not a source');
    expect(stdout).toBe('');
    expect(
      await fstore('iam-policy', '--env', 'prod', '--for', 'lookup', '--source', 'orders'),
    ).toBe(2);
    expect(stderr).toContain('--source narrows --for push or stream-producer, not --for lookup');
  });

  it('iam-policy --for compact prints the compaction policy of every source', async () => {
    expect(
      await fstore(
        'iam-policy',
        '--env',
        'prod',
        '--for',
        'compact',
        '--account',
        '111122223333',
        '--region',
        'eu-west-1',
        '--bucket',
        'b1',
      ),
      stderr,
    ).toBe(0);
    expect(JSON.parse(stdout).Statement).toEqual(
      compactStatements(
        'arn:aws:s3:::b1',
        registry.sources.map((s) => ({ name: s.name, s3Prefix: s.offline.s3Prefix })),
      ),
    );
  });

  it('iam-policy refuses a bad purpose, a local env, a bad account and a missing --bucket, naming each', async () => {
    const cases: [string[], string][] = [
      [['--env', 'prod', '--for', 'admin'], '--for "admin" is not a purpose'],
      [['--env', 'prod'], 'iam-policy needs --for'],
      [['--env', 'local', '--for', 'training'], 'environment "local" is local: it has no IAM'],
      [
        ['--env', 'prod', '--for', 'training', '--account', '12345'],
        '--account "12345" is not an AWS account id',
      ],
      [
        ['--env', 'prod', '--for', 'training', '--account', '111122223333', '--region', 'mars'],
        '--region "mars" is not an AWS region',
      ],
      [
        ['--env', 'prod', '--for', 'training', '--account', '111122223333'],
        '--account works offline, so it needs --bucket',
      ],
    ];
    for (const [args, message] of cases) {
      stderr = '';
      expect(await fstore('iam-policy', ...args), args.join(' ')).toBe(2);
      expect(stderr, args.join(' ')).toContain(message);
    }
  });
});
