import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { OfflineStore } from '../../lib/constructs/offline-store.ts';
import { OnlineStore } from '../../lib/constructs/online-store.ts';
import { ServingApi } from '../../lib/constructs/serving-api.ts';
import { offlineResourcesOf } from '../../lib/iam/environment-resources.ts';
import { lookupApiRoutes, lookupStatements } from '../../lib/iam/lookup-policy.ts';
import { ingestStatements, trainingStatements } from '../../lib/iam/offline-policy.ts';
import type { PolicyStatement } from '../../lib/iam/policy-statement.ts';
import { pushApiRoute, pushStatements } from '../../lib/iam/push-policy.ts';
import { serviceOutputNames, stackOutputNames } from '../../lib/stacks/stack-outputs.ts';
import { athenaRecipeSection, recipeOutputNames } from '../helpers/readme-athena-recipe.ts';
import { cdkJsonContext, loadExampleRegistry, synthStage } from './synth-app.ts';

const scope = { partition: 'aws', region: 'eu-west-1', account: '111122223333' };
const bucketName = 'fstore-dev-offline-bucket';
const apiId = 'a1b2c3d4e5';

/**
 * CloudFormation values with the pseudo parameters and the offline store's references replaced
 * by the names an outside role would see after the deploy.
 */
function resolver(template: Template) {
  const bucketIds = Object.keys(template.findResources('AWS::S3::Bucket')).filter((id) =>
    id.includes('OfflineData'),
  );
  const workGroups = template.findResources('AWS::Athena::WorkGroup');
  const apis = Object.keys(template.findResources('AWS::ApiGatewayV2::Api'));
  const refs: Record<string, string> = {
    ...Object.fromEntries(apis.map((id) => [id, apiId])),
    'AWS::Partition': scope.partition,
    'AWS::Region': scope.region,
    'AWS::AccountId': scope.account,
    ...Object.fromEntries(bucketIds.map((id) => [id, bucketName])),
    ...Object.fromEntries(
      Object.entries(workGroups).map(([id, r]) => [id, String(r.Properties.Name)]),
    ),
  };
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map(resolve);
    const object = value as Record<string, unknown>;
    if ('Ref' in object) {
      const name = refs[String(object.Ref)];
      if (name === undefined) throw new Error(`unresolved Ref ${String(object.Ref)}`);
      return name;
    }
    if ('Fn::GetAtt' in object) {
      const [id, attribute] = object['Fn::GetAtt'] as [string, string];
      if (!bucketIds.includes(id) || attribute !== 'Arn')
        throw new Error(`unresolved GetAtt ${id}.${attribute}`);
      return `arn:${scope.partition}:s3:::${bucketName}`;
    }
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve;
}

const list = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).map((v) => String(v));

/**
 * A policy as the set of what it allows, one `action resource condition` line each: CDK merges
 * statements (minimizePolicies), so the statements themselves differ in shape, not in meaning.
 */
function allowed(statements: readonly unknown[]): string[] {
  const lines = new Set<string>();
  for (const raw of statements) {
    const s = raw as { Effect: string; Action: unknown; Resource: unknown; Condition?: unknown };
    expect(s.Effect).toBe('Allow');
    for (const action of list(s.Action))
      for (const resource of list(s.Resource))
        lines.add(`${action} ${resource} ${JSON.stringify(s.Condition ?? {})}`);
  }
  return [...lines].sort();
}

/** The synthesized statements of `role`'s policies, resolved. */
function grantedTo(template: Template, role: iam.Role, stack: Stack): string[] {
  const resolve = resolver(template);
  const roleId = stack.resolve((role.node.defaultChild as iam.CfnRole).logicalId);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
  );
  expect(policies.length).toBeGreaterThan(0);
  return allowed(
    policies.flatMap(
      (p) => resolve(p.Properties.PolicyDocument.Statement) as readonly PolicyStatement[],
    ),
  );
}

async function storeWithRoles() {
  const registry = await loadExampleRegistry();
  const app = new App({ context: cdkJsonContext() });
  const stack = new Stack(app, 'fstore-dev', {
    env: { account: scope.account, region: scope.region },
  });
  const store = new OfflineStore(stack, 'Offline', {
    stage: resolveStageConfig('dev'),
    registry,
    accessLogsBucket: new s3.Bucket(stack, 'Logs'),
  });
  const role = (id: string) =>
    new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
  const training = role('Training');
  store.grantTrainingSets(training);
  const ingest = role('Ingest');
  store.grantIngest(ingest);
  return { registry, stack, training, ingest, template: Template.fromStack(stack) };
}

// Each case synthesizes a stack (bundling its Lambdas): on a loaded 2-core machine that took 79 s.
describe('fstore iam-policy prints what the CDK grants give (one source of statements)', {
  timeout: 300_000,
}, () => {
  it('training: the synthesized policy of a grantTrainingSets role equals the printed one for the same names', async () => {
    const { registry, stack, training, template } = await storeWithRoles();
    const printed = allowed(
      trainingStatements(offlineResourcesOf(registry, 'dev', scope, bucketName)),
    );
    expect(grantedTo(template, training, stack)).toEqual(printed);
    // What awswrangler and PyAthena call, and what a job writes and reads.
    for (const needed of [
      'athena:GetWorkGroup arn:aws:athena:eu-west-1:111122223333:workgroup/fstore-dev {}',
      'athena:GetPreparedStatement arn:aws:athena:eu-west-1:111122223333:workgroup/fstore-dev {}',
      'glue:GetTable arn:aws:glue:eu-west-1:111122223333:table/fstore_dev/fstore_requests_churn_v1 {}',
      `s3:PutObject arn:aws:s3:::${bucketName}/requests/* {}`,
      `s3:PutObject arn:aws:s3:::${bucketName}/athena-results/* {}`,
      `s3:GetObject arn:aws:s3:::${bucketName}/athena-results/* {}`,
    ])
      expect(printed).toContain(needed);
    expect(printed.filter((line) => /Delete/.test(line))).toEqual([]);
  });

  it('ingest: the synthesized policy of a grantIngest role equals the printed ingest policy', async () => {
    const { registry, stack, ingest, template } = await storeWithRoles();
    const bucketArn = `arn:aws:s3:::${bucketName}`;
    const printed = allowed(
      ingestStatements(
        bucketArn,
        registry.sources.map((s) => ({ name: s.name, s3Prefix: s.offline.s3Prefix })),
      ),
    );
    expect(grantedTo(template, ingest, stack)).toEqual(printed);
    // Commit records only in the ingest layout (<sha256>/<ingestId>.json), never compactions/*.
    const recordPattern = `${'?'.repeat(64)}/${'?'.repeat(8)}t${'?'.repeat(6)}-${'?'.repeat(8)}.json`;
    expect(printed).toContain(
      `s3:PutObject ${bucketArn}/offline/_ingests/orders/${recordPattern} {}`,
    );
    expect(printed).not.toContain(`s3:PutObject ${bucketArn}/offline/_ingests/orders/* {}`);
    expect(printed).toContain(`s3:DeleteObject ${bucketArn}/offline/orders/* {}`);
    expect(printed).not.toContain(`s3:DeleteObject ${bucketArn}/offline/_ingests/orders/* {}`);
  });

  it('differs when the names differ, so the comparisons above can fail', async () => {
    const { registry, stack, training, template } = await storeWithRoles();
    const other = allowed(
      trainingStatements(offlineResourcesOf(registry, 'prod', scope, bucketName)),
    );
    expect(grantedTo(template, training, stack)).not.toEqual(other);
  });
});

/** A lookup API (its function not bundled) and a role granted invoke on it, checked by cdk-nag. */
async function apiWithInvoker() {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'fstore-dev', {
    env: { account: scope.account, region: scope.region },
  });
  const stage = resolveStageConfig('dev');
  const serving = new ServingApi(stack, 'ServingApi', {
    stage,
    registry: await loadExampleRegistry(),
    table: new OnlineStore(stack, 'OnlineStore', { stage }).table,
  });
  const invoker = new iam.Role(stack, 'Invoker', {
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  });
  serving.grantInvoke(invoker);
  const producer = new iam.Role(stack, 'Producer', {
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  });
  serving.grantPush(producer);
  const ordersProducer = new iam.Role(stack, 'OrdersProducer', {
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  });
  serving.grantPush(ordersProducer, ['orders']);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const report = JSON.parse(
    readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'),
  ) as { pluginReports: { violations?: { ruleName: string; violatingResources: unknown[] }[] }[] };
  return {
    stack,
    invoker,
    producer,
    ordersProducer,
    template: Template.fromStack(stack),
    violations: report.pluginReports.flatMap((r) => r.violations ?? []),
  };
}

describe('ServingApi.grantInvoke', () => {
  it('grants exactly the statements fstore iam-policy --for lookup prints for the same API', async () => {
    const { stack, invoker, template } = await apiWithInvoker();
    const printed = allowed(lookupStatements(scope, apiId));
    expect(grantedTo(template, invoker, stack)).toEqual(printed);
    expect(printed).toContain(
      `execute-api:Invoke arn:aws:execute-api:eu-west-1:111122223333:${apiId}/*/POST/v1/features/* {}`,
    );
    expect(printed).toHaveLength(lookupApiRoutes.length);
  }, 120_000);

  it('grants a lookup caller no push: the push route is not among its resources', async () => {
    const { stack, invoker, template } = await apiWithInvoker();
    expect(grantedTo(template, invoker, stack).filter((line) => line.includes('/v1/push'))).toEqual(
      [],
    );
  }, 120_000);

  it('grantPush grants exactly the push route fstore iam-policy --for push prints, and no lookup route', async () => {
    const { stack, producer, ordersProducer, template } = await apiWithInvoker();
    expect(grantedTo(template, producer, stack)).toEqual([
      `execute-api:Invoke arn:aws:execute-api:eu-west-1:111122223333:${apiId}/*/POST/v1/push/* {}`,
    ]);
    expect(grantedTo(template, producer, stack)).toEqual(allowed(pushStatements(scope, apiId)));
    expect(grantedTo(template, ordersProducer, stack)).toEqual([
      `execute-api:Invoke arn:aws:execute-api:eu-west-1:111122223333:${apiId}/*/POST/v1/push/orders {}`,
    ]);
  }, 120_000);

  it('passes cdk-nag: the route wildcards (any stage, a path parameter) are acknowledged on the grantee', async () => {
    const { violations } = await apiWithInvoker();
    expect(violations).toEqual([]);
  }, 120_000);
});

describe('the dev stack', { timeout: 600_000 }, () => {
  const synthesized = synthStage('dev');

  it('lookup and push policies: together name exactly the routes of the synthesized API', async () => {
    const { template } = await synthesized;
    const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) =>
      String(r.Properties.RouteKey),
    );
    const asResourcePaths = routeKeys
      .map((key) => key.replace(/\{[^}]+\}/g, '*').replace(' ', ''))
      .sort();
    expect(asResourcePaths).toEqual(
      [...lookupApiRoutes, pushApiRoute].map((r) => `${r.method}${r.path}`).sort(),
    );
  });

  it("has every output the README's Athena recipe names", async () => {
    const { template } = await synthesized;
    const outputs = Object.keys(template.toJSON().Outputs as object);
    const named = recipeOutputNames(athenaRecipeSection());
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((name) => !outputs.includes(name))).toEqual([]);
  });

  it('outputs, under stable names, everything a training job or an outside role needs', async () => {
    const { template, registry } = await synthesized;
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const value = (name: string) => JSON.stringify(outputs[name]?.Value);
    for (const name of Object.values(stackOutputNames))
      expect(outputs[name], `output ${name}`).toBeDefined();
    expect(value(stackOutputNames.glueDatabase)).toBe('"fstore_dev"');
    expect(value(stackOutputNames.lookupApiUrl)).toMatch(/"ApiEndpoint"/);
    expect(value(stackOutputNames.lookupApiId)).toMatch(/^{"Ref":"ServingApi/);
    expect(registry.featureServices.length).toBeGreaterThan(1);
    for (const { name } of registry.featureServices) {
      const names = serviceOutputNames(name);
      expect(value(names.requestTable)).toBe(`"fstore_requests_${name}"`);
      expect(value(names.statement)).toBe(`"fstore_${name}"`);
      expect(value(names.requestPrefix)).toMatch(
        new RegExp(
          `^\\{"Fn::Join":\\["",\\["s3://",\\{"Ref":"OfflineStoreData[^"]*"\\},"/requests/${name}/"\\]\\]\\}$`,
        ),
      );
    }
  });
});
