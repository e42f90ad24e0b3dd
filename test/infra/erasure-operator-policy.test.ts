import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackOutputNames } from '../../lib/stacks/stack-output-names.ts';
import { acknowledgementsUnder, falseAcknowledgements } from './acknowledgement-claims.ts';
import { synthStage } from './synth-app.ts';

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('the erasure operator policy (fstore delete --env <aws>), real synthesizer', {
  timeout: 300_000,
}, () => {
  let synth: Awaited<ReturnType<typeof synthStage>>;
  let template: Template;
  let statements: Statement[];
  let policyId: string;

  beforeAll(async () => {
    synth = await synthStage('dev');
    template = synth.template;
    const policies = template.findResources('AWS::IAM::ManagedPolicy', {
      Properties: { ManagedPolicyName: 'fstore-dev-erasure-operator' },
    });
    const [id, policy] = Object.entries(policies)[0] ?? [];
    policyId = id ?? '';
    statements = (policy?.Properties.PolicyDocument.Statement ?? []) as Statement[];
  });

  /** The statements granting `action`, with their resources as JSON text. */
  const granting = (action: string) =>
    statements
      .filter((s) => asList(s.Action).includes(action))
      .map((s) => ({ ...s, resources: JSON.stringify(s.Resource) }));

  it('is published as the stack output ErasureOperatorPolicyArn, attached to no one', () => {
    expect(policyId).not.toBe('');
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs[stackOutputNames.erasureOperatorPolicyArn]?.Value).toEqual({ Ref: policyId });
    const properties = template.toJSON().Resources[policyId].Properties;
    expect(properties.Roles).toBeUndefined();
    expect(properties.Users).toBeUndefined();
    expect(properties.Groups).toBeUndefined();
  });

  it('queries with Athena in the environment workgroup and reads the Glue tables, no wildcard action', () => {
    expect(granting('athena:StartQueryExecution')[0]?.resources).toContain('workgroup/');
    expect(granting('glue:GetTable')[0]?.resources).toContain('table/fstore_dev/orders');
    expect(statements.flatMap((s) => asList(s.Action)).some((a) => a.includes('*'))).toBe(false);
  });

  it('deletes object versions under the data and quarantine prefixes only, and lists versions only there', () => {
    const [versions] = granting('s3:DeleteObjectVersion');
    expect(versions?.resources).toContain('/offline/orders/*');
    expect(versions?.resources).toContain('/quarantine/*');
    expect(versions?.resources).not.toContain('/offline/*"');
    expect(versions?.resources).not.toContain('_ingests');
    const [listing] = granting('s3:ListBucketVersions');
    const prefixes = asList(listing?.Condition?.StringLike?.['s3:prefix'] as string[]);
    expect(prefixes).toContain('offline/orders/*');
    expect(prefixes).toContain('quarantine/*');
    expect(prefixes).not.toContain('offline/*');
  });

  it('writes commit records under compactions/ only, and the audit under _fstore/audit/deletes/, never an ingest record', () => {
    const puts = granting('s3:PutObject')
      .map((s) => s.resources)
      .join(' ');
    expect(puts).toContain('/offline/_ingests/orders/compactions/*');
    expect(puts).toContain('/_fstore/audit/deletes/*');
    expect(puts).not.toContain('/offline/_ingests/orders/*');
    const deletes = granting('s3:DeleteObject')
      .map((s) => s.resources)
      .join(' ');
    expect(deletes).toContain('/offline/_ingests/orders/compactions/_lock.json');
    expect(deletes).not.toContain('/offline/_ingests/orders/compactions/*');
    expect(deletes).not.toContain('_fstore');
  });

  it('removes staged pushed rows: reads, writes and deletes versions under offline/_push/<source>/ and _push-errors/<source>/, never a plain delete there', () => {
    const [versions] = granting('s3:DeleteObjectVersion');
    expect(versions?.resources).toContain('/offline/_push/orders/*');
    expect(versions?.resources).toContain('/offline/_push-errors/orders/*');
    const [listing] = granting('s3:ListBucketVersions');
    const prefixes = asList(listing?.Condition?.StringLike?.['s3:prefix'] as string[]);
    expect(prefixes).toEqual(
      expect.arrayContaining(['offline/_push/orders/*', 'offline/_push-errors/orders/*']),
    );
    const puts = granting('s3:PutObject')
      .map((s) => s.resources)
      .join(' ');
    expect(puts).toContain('/offline/_push/orders/*');
    expect(puts).toContain('/offline/_push-errors/orders/*');
    const deletes = granting('s3:DeleteObject')
      .map((s) => s.resources)
      .join(' ');
    expect(deletes).not.toContain('_push');
  });

  it('keeps its in-place journal under _fstore/erasure/ only: read, listed, written, deleted by version', () => {
    const reads = granting('s3:GetObject')
      .map((s) => s.resources)
      .join(' ');
    expect(reads).toContain('/_fstore/erasure/*');
    expect(reads).not.toContain('/_fstore/*');
    expect(
      granting('s3:PutObject')
        .map((s) => s.resources)
        .join(' '),
    ).toContain('/_fstore/erasure/*');
    expect(granting('s3:DeleteObjectVersion')[0]?.resources).toContain('/_fstore/erasure/*');
    expect(granting('s3:DeleteObjectVersion')[0]?.resources).not.toContain('/_fstore/audit');
  });

  it('reads and lists the snapshots under _fstore/snapshots/ only (to name those holding the rows), never writes or deletes them', () => {
    const reads = granting('s3:GetObject')
      .map((s) => s.resources)
      .join(' ');
    expect(reads).toContain('/_fstore/snapshots/*');
    const listed = granting('s3:ListBucket').flatMap((s) =>
      asList(s.Condition?.StringLike?.['s3:prefix'] as string | string[]),
    );
    expect(listed).toContain('_fstore/snapshots/*');
    expect(
      listed.filter((p) => p.startsWith('_fstore/') && !p.startsWith('_fstore/erasure/')),
    ).toEqual(['_fstore/snapshots/*']);
    for (const action of ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'])
      expect(
        granting(action)
          .map((s) => s.resources)
          .join(' '),
      ).not.toContain('_fstore/snapshots');
  });

  it('takes the views’ materialization leases: GetItem and UpdateItem of materialization state items only', () => {
    const onlineTables = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'));
    const [lease] = granting('dynamodb:UpdateItem');
    expect(asList(lease?.Action).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(lease?.Resource).toEqual({ 'Fn::GetAtt': [onlineTables[0], 'Arn'] });
    expect(lease?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['~fstore#materialization#*'] },
    });
    expect(granting('dynamodb:PutItem')).toEqual([]);
  });

  it('scans and deletes items of the online table only, reads the stack and the audit key only', () => {
    const onlineTables = Object.keys(template.findResources('AWS::DynamoDB::GlobalTable'));
    const [items] = granting('dynamodb:DeleteItem');
    expect(asList(items?.Action).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:Scan']);
    expect(items?.Resource).toEqual({ 'Fn::GetAtt': [onlineTables[0], 'Arn'] });
    expect(granting('cloudformation:DescribeStacks')[0]?.Resource).toEqual({ Ref: 'AWS::StackId' });
    const secrets = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
    expect(granting('secretsmanager:GetSecretValue')[0]?.Resource).toEqual({ Ref: secrets[0] });
  });

  it('reads the registry the environment runs (registry/deployed.json of the artifacts bucket), that object only', () => {
    const artifacts = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) =>
      id.startsWith('Artifacts'),
    );
    // CDK merges it into the statement reading offline/: only its artifacts entries matter.
    const onArtifacts = statements
      .flatMap((s) => asList(s.Resource).map((r) => ({ action: s.Action, resource: r })))
      .filter((g) => JSON.stringify(g.resource).includes(artifacts ?? '-'));
    expect(onArtifacts).toEqual([
      {
        action: 's3:GetObject',
        resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': [artifacts, 'Arn'] }, '/registry/deployed.json']],
        },
      },
    ]);
  });

  it('is cdk-nag clean, each prefix wildcard acknowledged with a true reason', () => {
    expect(synth.violations).toEqual([]);
    const acks = acknowledgementsUnder(synth.stack).filter((a) => a.logicalId === policyId);
    expect(acks.length).toBeGreaterThan(0);
    expect(acks.every((a) => a.reason.includes('nothing outside the prefix is granted'))).toBe(
      true,
    );
    const policyPath = synth.stack.erasureOperatorPolicy.policy.node.path;
    expect(
      falseAcknowledgements(synth.stack, template).filter((p) => p.startsWith(policyPath)),
    ).toEqual([]);
  });
});
