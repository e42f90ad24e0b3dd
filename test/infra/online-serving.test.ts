import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { OnlineStore } from '../../lib/constructs/online-store.ts';
import { ServingApi } from '../../lib/constructs/serving-api.ts';
import { repoRoot } from '../helpers/run-fstore.ts';
import { loadExampleRegistry } from './synth-app.ts';

async function synth(env: string, overrides = {}) {
  const context = JSON.parse(readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')).context;
  const app = new App({ context });
  const stack = new Stack(app, `serving-${env}`);
  const stage = resolveStageConfig(env, overrides);
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
  return {
    template: Template.fromStack(stack),
    serving,
    violations: report.pluginReports.flatMap((r) => r.violations ?? []),
  };
}

describe('OnlineStore and ServingApi constructs', () => {
  it('creates an on-demand, encrypted table with PITR and TTL, retained and protected in prod', async () => {
    const prod = await synth('prod');
    prod.template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        TableName: 'fstore-prod-online',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
        SSESpecification: { SSEEnabled: true },
        Replicas: [
          Match.objectLike({
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      }),
    });
    const dev = await synth('dev');
    dev.template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
  }, 120_000);

  it('runs the lookup function on arm64 Node.js 24 with the table name and read-only table access', async () => {
    const { template } = await synth('dev');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: 'nodejs24.x',
      Environment: {
        Variables: Match.objectLike({ TABLE_NAME: Match.anyValue(), MAX_ENTITIES: '1000' }),
      },
    });
    // The lookup role's policies only: the push function's role has its own (push-route.test.ts).
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('LookupServiceRole'),
    );
    const actions = policies.flatMap((p) =>
      (
        p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }
      ).Properties.PolicyDocument.Statement.flatMap((s) => s.Action),
    );
    expect(actions.sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
    ]);
  }, 120_000);

  it('requires IAM authorization on every route, with stage throttling and access logs', async () => {
    const { template } = await synth('dev');
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => (r as { Properties: { RouteKey: string; AuthorizationType: string } }).Properties,
    );
    expect(routes.map((r) => r.RouteKey).sort()).toEqual([
      'GET /v1/health',
      'GET /v1/openapi.json',
      'GET /v1/registry',
      'POST /v1/feature-views/{view}',
      'POST /v1/features/{service}',
      'POST /v1/push/{source}',
    ]);
    expect(new Set(routes.map((r) => r.AuthorizationType))).toEqual(new Set(['AWS_IAM']));
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('requestId'),
      },
    });
  }, 120_000);

  it('uses a JWT authorizer when the stage asks for one: push needs a push scope, lookups the read scope', async () => {
    const { template, violations } = await synth('dev', {
      api: {
        authorization: 'jwt',
        jwtIssuer: 'https://issuer.example.com',
        jwtAudience: ['fstore'],
        jwtPushScopes: ['fstore/push'],
        jwtLookupScopes: ['fstore/read'],
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://issuer.example.com', Audience: ['fstore'] },
    });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) =>
        (
          r as {
            Properties: { RouteKey: string; AuthorizationType: string; AuthorizationScopes?: [] };
          }
        ).Properties,
    );
    expect(new Set(routes.map((r) => r.AuthorizationType))).toEqual(new Set(['JWT']));
    const scopes = Object.fromEntries(routes.map((r) => [r.RouteKey, r.AuthorizationScopes]));
    expect(scopes).toEqual({
      'POST /v1/push/{source}': ['fstore/push'],
      'POST /v1/features/{service}': ['fstore/read'],
      'POST /v1/feature-views/{view}': ['fstore/read'],
      'GET /v1/registry': ['fstore/read'],
      'GET /v1/health': ['fstore/read'],
      'GET /v1/openapi.json': ['fstore/read'],
    });
    expect(violations).toEqual([]);
  }, 120_000);

  it('on a JWT stage without a read scope, still keeps lookup tokens off the push route', async () => {
    const { template } = await synth('dev', {
      api: {
        authorization: 'jwt',
        jwtIssuer: 'https://issuer.example.com',
        jwtAudience: ['fstore'],
        jwtPushScopes: ['fstore/push', 'orders/write'],
      },
    });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => (r as { Properties: { RouteKey: string; AuthorizationScopes?: [] } }).Properties,
    );
    for (const route of routes)
      expect([route.RouteKey, route.AuthorizationScopes]).toEqual(
        route.RouteKey === 'POST /v1/push/{source}'
          ? [route.RouteKey, ['fstore/push', 'orders/write']]
          : [route.RouteKey, undefined],
      );
  }, 120_000);

  it('refuses a hand-built JWT stage config without push scopes at synth, naming the field', async () => {
    const stage = resolveStageConfig('dev', {
      api: {
        authorization: 'jwt',
        jwtIssuer: 'https://issuer.example.com',
        jwtAudience: ['fstore'],
        jwtPushScopes: ['fstore/push'],
      },
    });
    const unchecked = { ...stage, api: { ...stage.api, jwtPushScopes: [] } };
    const stack = new Stack(new App(), 'unchecked');
    const store = new OnlineStore(stack, 'OnlineStore', { stage: unchecked });
    await expect(async () => {
      new ServingApi(stack, 'ServingApi', {
        stage: unchecked,
        registry: await loadExampleRegistry(),
        table: store.table,
      });
    }).rejects.toThrow('api.jwtPushScopes');
  }, 120_000);

  it('passes cdk-nag AwsSolutions', async () => {
    const { violations } = await synth('prod');
    expect(violations).toEqual([]);
  }, 120_000);
});
