import { Stack, Token, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { SecureBucket } from '../../lib/constructs/secure-bucket.ts';
import { newApp, synthStage, synthWithViolations } from './synth-app.ts';

describe('fstore CDK app', { timeout: 180_000 }, () => {
  it('synthesizes one stack per environment named fstore-<env>', async () => {
    const dev = await synthStage('dev');
    const prod = await synthStage('prod');
    expect(dev.assembly?.stacks.map((s) => s.stackName)).toEqual(['fstore-dev']);
    expect(prod.assembly?.stacks.map((s) => s.stackName)).toEqual(['fstore-prod']);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding in dev and prod', async () => {
    for (const env of ['dev', 'prod']) {
      const { violations } = await synthStage(env);
      expect(violations, env).toEqual([]);
    }
  });

  it('encrypts, versions, blocks public access and requires TLS on every bucket', async () => {
    const { template } = await synthStage('dev');
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(3);
    template.allResourcesProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    const policies = template.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(3);
    template.allResourcesProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('logs artifact bucket access to the access-log bucket', async () => {
    const { template } = await synthStage('dev');
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: {
        DestinationBucketName: Match.anyValue(),
        LogFilePrefix: 'artifacts/',
      },
    });
  });

  it('retains data and protects the stack in prod, and deletes with the stack in dev', async () => {
    const prod = await synthStage('prod');
    const dev = await synthStage('dev');
    prod.template.allResources('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    dev.template.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    expect(prod.stack.terminationProtection).toBe(true);
    expect(dev.stack.terminationProtection).toBe(false);
  });

  it('keeps stable logical ids for stateful resources', async () => {
    const { template } = await synthStage('dev');
    expect(Object.keys(template.findResources('AWS::S3::Bucket')).sort()).toEqual([
      'AccessLogsBucketCD784A59',
      'ArtifactsBucket88671897',
      'OfflineStoreDataBucket51ECAA70',
    ]);
    expect(Object.keys(template.findResources('AWS::DynamoDB::GlobalTable')).sort()).toEqual([
      'OnlineStoreTableD3283D9C',
      'ServingApiPushIdempotencyTableFEA16282',
    ]);
  });

  it('outputs the registry version, definition counts and the view versions it was built from', async () => {
    const { template, registry } = await synthStage('dev');
    template.hasOutput('RegistryVersion', { Value: registry.version });
    template.hasOutput('RegistryCounts', {
      Value: `entities=${registry.entities.length} sources=${registry.sources.length} featureViews=${registry.featureViews.length} featureServices=${registry.featureServices.length}`,
    });
    template.hasOutput('FeatureViews', {
      Value: registry.featureViews.map((v) => `${v.name}@${v.version}`).join(','),
    });
  });

  it('tags resources with the environment, not the registry version (which would change every resource at each definition edit)', async () => {
    const { template } = await synthStage('prod');
    template.hasResourceProperties('AWS::S3::Bucket', {
      Tags: Match.arrayWith([{ Key: 'fstore:env', Value: 'prod' }]),
    });
    expect(JSON.stringify(template.toJSON().Resources)).not.toContain('fstore:registry-version');
  });

  it('adds the stage tags to every bucket and to the online table', async () => {
    const { template } = await synthStage(resolveStageConfig('dev', { tags: { team: 'ml' } }));
    const team = Match.arrayWith([{ Key: 'team', Value: 'ml' }]);
    template.allResourcesProperties('AWS::S3::Bucket', { Tags: team });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ Tags: team })],
    });
  });

  it('is environment-agnostic without an account and pinned with one', async () => {
    const agnostic = await synthStage('dev');
    expect(Token.isUnresolved(agnostic.stack.account)).toBe(true);
    const pinned = await synthStage(
      resolveStageConfig('dev', { account: '123456789012', region: 'eu-west-1' }),
    );
    expect([pinned.stack.account, pinned.stack.region]).toEqual(['123456789012', 'eu-west-1']);
  });
});

describe('fstore-<env> stack contents', { timeout: 180_000 }, () => {
  it('includes the online table and the IAM-authorized lookup API with the registry compiled in', async () => {
    const { template } = await synthStage('dev');
    // The online table and the push route's Idempotency-Key records.
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 2);
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 6);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TABLE_NAME: Match.anyValue() }) },
    });
  });
});

describe('cdk-nag on the app', () => {
  it('reports an unacknowledged finding instead of synthesizing', () => {
    const app = newApp();
    const stack = new Stack(app, 'probe');
    new SecureBucket(stack, 'Unlogged', { retain: false });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const { violations } = synthWithViolations(app);
    expect(violations).toEqual([
      {
        rule: 'AwsSolutions-S1',
        severity: 'error',
        constructs: ['probe/Unlogged/Bucket/Resource'],
      },
    ]);
  });

  it('accepts the finding once acknowledged on the construct with a reason', () => {
    const app = newApp();
    const stack = new Stack(app, 'probe');
    const unlogged = new SecureBucket(stack, 'Unlogged', { retain: false });
    Validations.of(unlogged.bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'test probe' });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(synthWithViolations(app).violations).toEqual([]);
  });
});
