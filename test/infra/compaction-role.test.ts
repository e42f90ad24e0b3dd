import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stageOverridesFromContext } from '../../lib/config/context-overrides.ts';
import type { StageConfig } from '../../lib/config/stage-config.ts';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { compactStatements } from '../../lib/iam/offline-policy.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { buildApp } from '../../lib/stacks/build-app.ts';
import { stackOutputNames } from '../../lib/stacks/stack-outputs.ts';
import { falseAcknowledgements } from './acknowledgement-claims.ts';
import { cdkJsonContext, loadExampleRegistry, synthWithViolations } from './synth-app.ts';

const account = '111122223333';
const bucketName = 'fstore-dev-offline-bucket';
const bucketArn = `arn:aws:s3:::${bucketName}`;

/** The whole app for `stage` (Lambda bundling skipped: no asset is inspected here), with cdk-nag. */
async function synth(stage: StageConfig) {
  const registry = await loadExampleRegistry();
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const { stack } = buildApp({ app, stage, registry });
  const { assembly, violations } = synthWithViolations(app);
  if (!assembly) throw new Error(`cdk-nag findings: ${JSON.stringify(violations, null, 2)}`);
  return { registry, stack, template: Template.fromStack(stack) };
}

/** CloudFormation values with the pseudo parameters and the offline bucket replaced by names. */
function resolver(template: Template) {
  const buckets = Object.keys(template.findResources('AWS::S3::Bucket')).filter((id) =>
    id.startsWith('OfflineStoreData'),
  );
  const refs: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'eu-west-1',
    'AWS::AccountId': account,
    ...Object.fromEntries(buckets.map((id) => [id, bucketName])),
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
      if (!buckets.includes(id) || attribute !== 'Arn')
        throw new Error(`unresolved GetAtt ${id}.${attribute}`);
      return bucketArn;
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
 * statements (minimizePolicies), so their shape differs, not their meaning.
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

/** The compaction role's logical id, its properties and every statement its policies allow. */
function compactionRole(template: Template) {
  const roles = Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) =>
    id.startsWith('CompactionRole'),
  );
  expect(roles).toHaveLength(1);
  const [id, role] = roles[0] as [string, { Properties: Record<string, unknown> }];
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === id),
  );
  const resolve = resolver(template);
  return {
    id,
    properties: role.Properties,
    trust: resolve(role.Properties.AssumeRolePolicyDocument) as { Statement: unknown[] },
    allows: allowed(
      policies.flatMap((p) => resolve(p.Properties.PolicyDocument.Statement) as unknown[]),
    ),
  };
}

// Each case synthesizes the whole app (bundling skipped); slow on a loaded machine.
describe('the CompactionRole of an environment stack', { timeout: 300_000 }, () => {
  it('allows exactly what fstore iam-policy --for compact prints, is assumable by its own account only by default, and is cdk-nag clean', async () => {
    const { registry, stack, template } = await synth(resolveStageConfig('dev', { account }));
    const role = compactionRole(template);
    // its acknowledgements (prefix wildcards, deletes declared in the reason) are true of it
    expect(falseAcknowledgements(stack, template)).toEqual([]);
    const sources = registry.sources.map((s) => ({ name: s.name, s3Prefix: s.offline.s3Prefix }));
    expect(role.allows).toEqual(allowed(compactStatements(bucketArn, sources)));
    // the lock: written under compactions/, read with the records, deleted by its exact key
    for (const { name } of sources) {
      expect(role.allows).toContain(`s3:DeleteObject ${bucketArn}/${compactionLockKey(name)} {}`);
      expect(role.allows).toContain(
        `s3:PutObject ${bucketArn}/offline/_ingests/${name}/compactions/* {}`,
      );
    }
    expect(
      role.allows.filter((line) => !/^s3:(Get|Put|Delete)Object |^s3:ListBucket /.test(line)),
    ).toEqual([]);
    expect(
      role.allows.filter((l) => l.startsWith('s3:DeleteObject') && l.includes('/_ingests/')),
    ).toEqual(
      sources
        .map(({ name }) => `s3:DeleteObject ${bucketArn}/${compactionLockKey(name)} {}`)
        .sort(),
    );
    expect(role.properties.ManagedPolicyArns).toBeUndefined();
    expect(role.properties.Policies).toBeUndefined();
    expect(role.trust.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
      },
    ]);
    expect(template.toJSON().Outputs[stackOutputNames.compactionRoleArn]).toMatchObject({
      Value: { 'Fn::GetAtt': [role.id, 'Arn'] },
    });
  });

  it('trusts exactly the principals the stage names (-c compactPrincipalArn=...)', async () => {
    const principals = [
      `arn:aws:iam::${account}:role/data-eng`,
      'arn:aws:iam::444455556666:role/scheduler',
    ];
    const overrides = stageOverridesFromContext('dev', (key) =>
      key === 'compactPrincipalArn' ? principals.join(', ') : undefined,
    );
    expect(overrides).toEqual({ compaction: { principalArns: principals } });
    const { template } = await synth(resolveStageConfig('dev', { account, ...overrides }));
    const statements = compactionRole(template).trust.Statement as {
      Principal: { AWS: string | string[] };
    }[];
    expect(statements.flatMap((s) => list(s.Principal.AWS)).sort()).toEqual([...principals].sort());
  });
});

describe('compaction.principalArns in the stage config', () => {
  it('refuses what is not an IAM role, user or account-root ARN, naming the field', () => {
    for (const bad of ['*', 'arn:aws:iam::1234:role/x', 'arn:aws:s3:::bucket', 'data-eng'])
      expect(() => resolveStageConfig('dev', { compaction: { principalArns: [bad] } })).toThrow(
        'compaction.principalArns.0: must be an IAM role, user or account-root ARN',
      );
    expect(resolveStageConfig('dev').compaction.principalArns).toEqual([]);
    expect(
      resolveStageConfig('dev', {
        compaction: { principalArns: ['arn:aws-cn:iam::111122223333:user/ops/alice'] },
      }).compaction.principalArns,
    ).toEqual(['arn:aws-cn:iam::111122223333:user/ops/alice']);
  });
});
