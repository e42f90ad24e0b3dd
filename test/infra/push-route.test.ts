import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { OnlineStore } from '../../lib/constructs/online-store.ts';
import { ServingApi } from '../../lib/constructs/serving-api.ts';
import { cdkJsonContext, loadExampleRegistry } from './synth-app.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };

/** The serving API with its push route, bundled as `cdk synth` would, and cdk-nag's findings. */
async function synth(env: string) {
  const app = new App({ context: cdkJsonContext() });
  const stack = new Stack(app, `push-${env}`);
  const stage = resolveStageConfig(env);
  const store = new OnlineStore(stack, 'OnlineStore', { stage });
  const serving = new ServingApi(stack, 'ServingApi', {
    stage,
    registry: await loadExampleRegistry(),
    table: store.table,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const report = JSON.parse(
    readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'),
  ) as { pluginReports: { violations?: unknown[] }[] };
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
  return {
    template,
    resources: template.toJSON().Resources as Record<string, Resource>,
    pushFunctionId: id(serving.push.function),
    lookupFunctionId: id(serving.function),
    tableId: id(store.table),
    recordsId: id(serving.push.idempotencyTable),
    violations: report.pluginReports.flatMap((r) => r.violations ?? []),
  };
}

/** Every statement of the role's policies (inline and attached AWS::IAM::Policy), as written. */
function statementsOfRole(resources: Record<string, Resource>, roleId: string): unknown[] {
  const role = resources[roleId];
  const inline = (
    (role?.Properties.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[]
  ).flatMap((p) => p.PolicyDocument.Statement);
  const attached = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) => (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: unknown[] }).Statement);
  return [...inline, ...attached];
}

function roleOf(resources: Record<string, Resource>, functionId: string): string {
  const role = resources[functionId]?.Properties.Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

describe('the push route on AWS (ServingApi.push)', () => {
  it('is its own IAM-authorized route, POST /v1/push/{source}, integrated with the push function, not the lookup', async () => {
    const { resources, pushFunctionId, lookupFunctionId } = await synth('dev');
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const push = routes.filter((r) => String(r.Properties.RouteKey).includes('/v1/push'));
    expect(push.map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType])).toEqual([
      ['POST /v1/push/{source}', 'AWS_IAM'],
    ]);
    const target = JSON.stringify(push[0]?.Properties.Target);
    const integrationId = /"Ref":"([^"]+)"/.exec(target)?.[1] ?? '';
    const uri = JSON.stringify(resources[integrationId]?.Properties.IntegrationUri);
    expect(uri).toContain(pushFunctionId);
    expect(uri).not.toContain(lookupFunctionId);
    // No lookup route reaches the push function.
    for (const route of routes.filter((r) => !push.includes(r))) {
      const id = /"Ref":"([^"]+)"/.exec(JSON.stringify(route.Properties.Target))?.[1] ?? '';
      expect(JSON.stringify(resources[id]?.Properties.IntegrationUri)).not.toContain(
        pushFunctionId,
      );
    }
  }, 180_000);

  it('runs on arm64 Node.js 24 with the online table, the limits, and a timeout under API Gateway’s 30 s', async () => {
    const { resources, pushFunctionId, tableId, recordsId } = await synth('dev');
    const fn = resources[pushFunctionId]?.Properties ?? {};
    expect(fn).toMatchObject({ Architectures: ['arm64'], Runtime: 'nodejs24.x', MemorySize: 512 });
    expect(fn.Timeout).toBeLessThan(30);
    expect(fn.Environment).toEqual({
      Variables: {
        TABLE_NAME: { Ref: tableId },
        MAX_ROWS: '1000',
        MAX_BODY_BYTES: '262144',
        IDEMPOTENCY_TABLE_NAME: { Ref: recordsId },
        IDEMPOTENCY_EXPIRY_SECONDS: '3600',
        IDEMPOTENCY_IN_PROGRESS_MS: String(Number(fn.Timeout) * 1000),
      },
    });
  }, 180_000);

  it('has a least-privilege role: its log group, PutItem on the online table, the records table’s item calls; no read of the online table, no S3, no KMS', async () => {
    const { resources, pushFunctionId, tableId, recordsId } = await synth('dev');
    const roleId = roleOf(resources, pushFunctionId);
    const logGroupId = Object.keys(resources).find(
      (id) =>
        id.startsWith('ServingApiPushFunctionLogs') &&
        resources[id]?.Type === 'AWS::Logs::LogGroup',
    );
    expect(statementsOfRole(resources, roleId)).toEqual([
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
      },
      {
        Action: 'dynamodb:PutItem',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      },
      {
        Action: [
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [recordsId, 'Arn'] },
      },
    ]);
    expect(resources[roleId]?.Properties.ManagedPolicyArns).toBeUndefined();
  }, 180_000);

  it('keeps Idempotency-Key records in an on-demand, encrypted table with PITR and TTL on expiration, retained in prod', async () => {
    for (const [env, policy, protection] of [
      ['prod', 'Retain', true],
      ['dev', 'Delete', false],
    ] as const) {
      const { resources, recordsId } = await synth(env);
      const table = resources[recordsId] as Resource & { DeletionPolicy?: string };
      expect(table.Type).toBe('AWS::DynamoDB::GlobalTable');
      expect(table.DeletionPolicy, env).toBe(policy);
      expect(table.Properties).toMatchObject({
        TableName: `fstore-${env}-push-idempotency`,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
        SSESpecification: { SSEEnabled: true },
        Replicas: [
          expect.objectContaining({
            DeletionProtectionEnabled: protection,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      });
    }
  }, 300_000);

  it('passes cdk-nag AwsSolutions in prod', async () => {
    const { violations } = await synth('prod');
    expect(violations).toEqual([]);
  }, 180_000);
});
