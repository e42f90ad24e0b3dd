import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { CompactionRole } from '../../lib/constructs/compaction-role.ts';
import { OfflineStore } from '../../lib/constructs/offline-store.ts';
import { SecureBucket } from '../../lib/constructs/secure-bucket.ts';
import { newDataFilesId } from '../../lib/offline/ingest-manifest.ts';
import { ingestRecordKey } from '../../lib/offline/ingest-records.ts';
import { compactionLockKey, compactionRecordKey } from '../../lib/offline/s3-compact-record.ts';
import { iamAllows } from '../helpers/iam-allows.ts';
import { loadExampleRegistry, newApp, synthWithViolations } from './synth-app.ts';

const bucketArn = 'arn:aws:s3:::offline-bucket';

/** Every statement of the role's policies, the offline bucket's ARN resolved to `bucketArn`. */
function statementsOf(template: Template, roleId: string) {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
  );
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map(resolve);
    const object = value as Record<string, unknown>;
    if ('Fn::GetAtt' in object) return bucketArn;
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolve(v)]));
  };
  const list = (v: unknown) => (Array.isArray(v) ? v : [v]) as string[];
  return policies
    .flatMap((p) => resolve(p.Properties.PolicyDocument.Statement) as Record<string, unknown>[])
    .map((s) => ({
      Effect: String(s.Effect),
      Action: list(s.Action),
      Resource: list(s.Resource),
    }));
}

describe('a role granted OfflineStore.grantIngest (fstore ingest --env <aws>)', () => {
  it('writes ingest records and takes the compaction lock (its commit waits for a retention or delete), but writes no compaction record, while the CompactionRole (and a role with both grants) still can; cdk-nag clean', async () => {
    const app = newApp();
    const stack = new Stack(app, 'ingest-role');
    const logs = new SecureBucket(stack, 'Logs', { retain: false });
    Validations.of(logs.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'test fixture: the access-log bucket itself',
    });
    const registry = await loadExampleRegistry();
    const store = new OfflineStore(stack, 'Offline', {
      stage: resolveStageConfig('dev'),
      registry,
      accessLogsBucket: logs.bucket,
    });
    const ingest = new iam.Role(stack, 'Ingest', { assumedBy: new iam.AccountRootPrincipal() });
    store.grantIngest(ingest);
    const both = new iam.Role(stack, 'Both', { assumedBy: new iam.AccountRootPrincipal() });
    store.grantIngest(both);
    store.grantCompact(both);
    const compaction = new CompactionRole(stack, 'Compaction', {
      offlineStore: store,
      trustedPrincipalArns: [],
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const { assembly, violations } = synthWithViolations(app);
    expect(violations).toEqual([]);
    expect(assembly).toBeDefined();
    const template = Template.fromStack(stack);
    const id = (role: iam.Role) =>
      stack.resolve((role.node.defaultChild as iam.CfnRole).logicalId) as string;
    const can = (role: iam.Role, action: string, key: string) =>
      iamAllows(statementsOf(template, id(role)), action, `${bucketArn}/${key}`);

    const sha256 = '0f'.repeat(32);
    for (const source of registry.sources.map((s) => s.name)) {
      const record = ingestRecordKey(source, sha256, newDataFilesId());
      const lock = compactionLockKey(source);
      const compactionRecord = compactionRecordKey(source, newDataFilesId());
      expect(can(ingest, 's3:PutObject', record)).toBe(true);
      expect(can(ingest, 's3:PutObject', lock)).toBe(true);
      expect(can(ingest, 's3:GetObject', lock)).toBe(true);
      expect(can(ingest, 's3:DeleteObject', lock)).toBe(true);
      expect(can(ingest, 's3:PutObject', compactionRecord)).toBe(false);
      expect(can(ingest, 's3:DeleteObject', compactionRecord)).toBe(false);
      for (const role of [compaction.role, both]) {
        expect(can(role, 's3:PutObject', lock)).toBe(true);
        expect(can(role, 's3:PutObject', compactionRecord)).toBe(true);
        expect(can(role, 's3:DeleteObject', lock)).toBe(true);
      }
      expect(can(both, 's3:PutObject', record)).toBe(true);
    }
  }, 180_000);
});
