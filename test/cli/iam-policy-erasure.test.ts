import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { offlineResourcesOf } from '../../lib/iam/environment-resources.ts';
import { erasureStatements } from '../../lib/iam/erasure-policy.ts';
import { policyDocument } from '../../lib/iam/policy-statement.ts';
import { compileRegistry, loadDefinitions, type Registry } from '../../lib/registry/index.ts';
import { stackName } from '../../lib/stacks/stack-name.ts';
import { stackOutputNames } from '../../lib/stacks/stack-output-names.ts';
import { repoRoot, runFstore } from '../helpers/run-fstore.ts';

const account = '111122223333';
const name = stackName(resolveStageConfig('dev'));
const stackId = `arn:aws:cloudformation:eu-west-1:${account}:stack/${name}/1a2b`;
const outputs = {
  [stackOutputNames.offlineBucket]: 'fstore-dev-offline',
  [stackOutputNames.glueDatabase]: 'fstore_dev',
  [stackOutputNames.athenaWorkGroup]: 'fstore-dev',
  [stackOutputNames.auditKeySecretArn]: `arn:aws:secretsmanager:eu-west-1:${account}:secret:audit-AbCdEf`,
  ArtifactsBucketName: 'fstore-dev-artifacts',
};

/** CloudFormation's DescribeStacks on loopback, answering the dev stack with `outputs`. */
let server: ReturnType<typeof createServer>;
let endpoint = '';
let registry: Registry;
beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.setHeader('content-type', 'text/xml');
      response.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${name}</StackName><StackId>${stackId}</StackId><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>${Object.entries(
          outputs,
        )
          .map(
            ([k, v]) =>
              `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`,
          )
          .join('')}</Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const iamPolicy = (...args: string[]) =>
  runFstore(['--env', 'dev', 'iam-policy', '--for', 'erasure', ...args], {
    env: {
      AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
  });

describe('fstore iam-policy --for erasure', () => {
  it('prints the erasure operator policy the stack publishes, built from the stack outputs by the same statements', async () => {
    const result = await iamPolicy('--json');
    expect(result.code, result.stderr).toBe(0);
    const { policy, namesFrom } = JSON.parse(result.stdout);
    expect(namesFrom).toBe(`outputs of stack ${name}`);
    const scope = { partition: 'aws', region: 'eu-west-1', account };
    expect(policy).toEqual(
      policyDocument(
        erasureStatements({
          offline: offlineResourcesOf(registry, 'dev', scope, 'fstore-dev-offline'),
          sources: registry.sources.map((s) => ({ name: s.name, s3Prefix: s.offline.s3Prefix })),
          tableArn: `arn:aws:dynamodb:eu-west-1:${account}:table/fstore-dev-online`,
          stackArn: stackId,
          auditSecretArn: outputs[stackOutputNames.auditKeySecretArn] ?? '',
          deployedRegistryArn: 'arn:aws:s3:::fstore-dev-artifacts/registry/deployed.json',
        }),
      ),
    );
    const text = JSON.stringify(policy);
    for (const grant of [
      'arn:aws:s3:::fstore-dev-offline/offline/_push/',
      'arn:aws:s3:::fstore-dev-offline/_fstore/erasure/*',
      'arn:aws:s3:::fstore-dev-offline/_fstore/snapshots/*',
      '~fstore#materialization#*',
    ])
      expect(text).toContain(grant);
  }, 120_000);

  it('refuses --account: the policy names the stack itself, its audit key and artifacts bucket', async () => {
    const result = await runFstore([
      '--env',
      'dev',
      'iam-policy',
      '--for',
      'erasure',
      '--account',
      account,
      '--bucket',
      'b',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--for erasure names the stack itself');
    expect(result.stderr).toContain('fstore iam-policy --env dev --for erasure');
  }, 120_000);
});
