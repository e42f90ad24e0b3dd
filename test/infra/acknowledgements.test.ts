import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { AuditKeySecret } from '../../lib/constructs/audit-key-secret.ts';
import { OfflineStore } from '../../lib/constructs/offline-store.ts';
import { acknowledgementsUnder, falseAcknowledgements } from './acknowledgement-claims.ts';
import { loadExampleRegistry, synthStage } from './synth-app.ts';

/** A role with the materializer's offline grants, in a stack of its own (no bundling). */
async function grantedRole() {
  const stack = new Stack(new App(), 'claims');
  const store = new OfflineStore(stack, 'Offline', {
    stage: resolveStageConfig('dev'),
    registry: await loadExampleRegistry(),
    accessLogsBucket: new s3.Bucket(stack, 'Logs'),
  });
  const role = new iam.Role(stack, 'Job', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  store.grantQuery(role, { readRequests: false });
  store.grantWrite(role, 'quarantine/');
  return { stack, store, role };
}

describe('cdk-nag acknowledgements', () => {
  it('are each true of the synthesized policy they cover, in dev and prod', async () => {
    for (const env of ['dev', 'prod']) {
      const { stack, template } = await synthStage(env);
      const acknowledged = acknowledgementsUnder(stack).map((a) => a.id);
      expect(acknowledged).toContain('AwsSolutions-SQS3');
      expect(acknowledged.filter((id) => id.includes('/offline/*')).length).toBeGreaterThan(0);
      // The functions' roles carry no managed policy any more, so nothing acknowledges one.
      expect(acknowledged.filter((id) => id.startsWith('AwsSolutions-IAM4'))).toEqual([]);
      expect(falseAcknowledgements(stack, template), env).toEqual([]);
    }
  }, 300_000);

  it('hold for the offline grants of a materializer-like role', async () => {
    const { stack } = await grantedRole();
    expect(falseAcknowledgements(stack, Template.fromStack(stack))).toEqual([]);
  });

  it('are caught when a role also lists the whole bucket', async () => {
    const { stack, store, role } = await grantedRole();
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [store.bucket.bucketArn] }),
    );
    expect(falseAcknowledgements(stack, Template.fromStack(stack))).toEqual([
      expect.stringMatching(
        /s3:ListBucket on all of OfflineDataBucket\w+, not limited by s3:prefix/,
      ),
    ]);
  });

  it('are caught when an acknowledged prefix also carries deletes', async () => {
    const { stack, store, role } = await grantedRole();
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:DeleteObject*'],
        resources: [store.bucket.arnForObjects('athena-results/*')],
      }),
    );
    expect(falseAcknowledgements(stack, Template.fromStack(stack))).toEqual([
      expect.stringMatching(/athena-results\/ of OfflineDataBucket\w+ carries s3:DeleteObject\*/),
    ]);
  });

  it('are caught when a prefix is granted that no acknowledgement names', async () => {
    const { stack, store, role } = await grantedRole();
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [store.bucket.arnForObjects('training-sets/*')],
      }),
    );
    expect(falseAcknowledgements(stack, Template.fromStack(stack))).toEqual([
      expect.stringMatching(
        /objects under training-sets\/ of OfflineDataBucket\w+ are granted but not acknowledged/,
      ),
    ]);
  });
  it.each([
    [['offline/_push-errors/payments/'], []],
    [['offline'], [expect.stringMatching(/exact prefixes that are not folders: offline$/)]],
  ])('allow listing exact folders by name (StringEquals) only: %j', async (prefixes, problems) => {
    const { stack, store, role } = await grantedRole();
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [store.bucket.bucketArn],
        conditions: { StringEquals: { 's3:prefix': prefixes } },
      }),
    );
    expect(falseAcknowledgements(stack, Template.fromStack(stack))).toEqual(problems);
  });

  it.each([
    [false, []],
    [true, [expect.stringMatching(/SMG4 says not rotated, but a rotation schedule rotates it/)]],
  ])(
    'hold for the audit key acknowledged as not rotated, and are caught once it is (rotated: %s)',
    (rotated, problems) => {
      const stack = new Stack(new App(), 'secret');
      const key = new AuditKeySecret(stack, 'AuditKey', { stage: resolveStageConfig('dev') });
      if (rotated)
        new secretsmanager.CfnRotationSchedule(stack, 'Rotation', {
          secretId: key.secret.secretArn,
          rotationRules: { scheduleExpression: 'rate(30 days)' },
        });
      expect(falseAcknowledgements(stack, Template.fromStack(stack))).toEqual(problems);
    },
  );
});
