import path from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { readRegistryFile } from '../../lib/local/registry-store.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { stableStringify } from '../../lib/registry/stable-json.ts';
import { buildApp } from '../../lib/stacks/build-app.ts';
import { BreakingDeployRefused, type DeployedRegistryInput } from '../../lib/stacks/deploy-gate.ts';
import { repoRoot } from '../helpers/run-fstore.ts';
import { loadExampleRegistry, newApp, synthWithViolations } from './synth-app.ts';

const fixture = path.join(repoRoot, 'test/fixtures/deployed-registry/tenure-months-int64.json');

async function deployedFixture(): Promise<DeployedRegistryInput> {
  const registry = await readRegistryFile(fixture);
  if (!registry) throw new Error(`fixture ${fixture} is missing`);
  return { registry, source: fixture };
}

/** Builds and synthesizes dev as `cdk synth` would with the given gate context. */
async function synthDev(deployed: DeployedRegistryInput | undefined, allowBreaking?: string[]) {
  const registry = await loadExampleRegistry();
  const app = newApp();
  const { stack } = buildApp({
    app,
    stage: resolveStageConfig('dev'),
    registry,
    ...(deployed ? { deployed } : {}),
    ...(allowBreaking ? { allowBreaking } : {}),
  });
  const { assembly, violations } = synthWithViolations(app);
  expect(violations).toEqual([]);
  return { stack, registry, assembly, annotations: Annotations.fromStack(stack) };
}

const warningsOf = (annotations: Annotations, pattern: string) =>
  annotations.findWarning('*', Match.stringLikeRegexp(pattern));

describe('the deploy gate', () => {
  it('refuses a registry that breaks the deployed one, naming the view, the field and the services', async () => {
    const deployed = await deployedFixture();
    const error = await synthDev(deployed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BreakingDeployRefused);
    const { message, hint } = error as BreakingDeployRefused;
    expect(message).toMatch(
      /^registry \w+ breaks the deployed registry deployed0fixture \(.*tenure-months-int64\.json\) of fstore-dev; nothing was synthesized:/,
    );
    expect(message).toContain(
      'feature view customer_profile: features.tenure_months.type: type change [services affected: churn_online, churn_v1]',
    );
    expect(hint).toContain('-c allowBreaking=customer_profile');
  });

  it('refuses when allowBreaking names other views only', async () => {
    await expect(synthDev(await deployedFixture(), ['customer_orders'])).rejects.toThrow(
      BreakingDeployRefused,
    );
  });

  it('synthesizes a breaking change that allowBreaking names, with a warning saying so', async () => {
    const { assembly, annotations } = await synthDev(await deployedFixture(), ['customer_profile']);
    expect(assembly).toBeDefined();
    const allowed = warningsOf(annotations, 'Deploying breaking changes allowed');
    expect(allowed).toHaveLength(1);
    expect(JSON.stringify(allowed)).toContain('feature view customer_profile');
    expect(warningsOf(annotations, 'No deployed registry given')).toEqual([]);
  }, 180_000);

  it('warns at synthesis that nothing was checked when no deployed registry is given', async () => {
    const { annotations } = await synthDev(undefined);
    const unknown = warningsOf(annotations, 'No deployed registry given');
    expect(unknown).toHaveLength(1);
    expect(JSON.stringify(unknown)).toContain('are NOT checked');
    expect(JSON.stringify(unknown)).toContain('fstore plan --env dev --bucket');
  }, 180_000);

  it('passes quietly against the same registry, and flags an allowBreaking name with nothing to allow', async () => {
    const registry: Registry = await loadExampleRegistry();
    const { annotations } = await synthDev({ registry, source: 'same.json' }, ['customer_profile']);
    expect(warningsOf(annotations, 'No deployed registry given')).toEqual([]);
    expect(warningsOf(annotations, 'Deploying breaking changes')).toEqual([]);
    expect(JSON.stringify(warningsOf(annotations, 'allowBreaking names'))).toContain(
      'customer_profile, which has no breaking change',
    );
  }, 180_000);
});

describe('the registry record', () => {
  it('writes the deployed registry and its versioned copy to the artifacts bucket, and may write nothing else', async () => {
    const { stack, registry, assembly } = await synthDev(undefined);
    expect(assembly).toBeDefined();
    const resources = assembly?.getStackByName(stack.stackName).template.Resources as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const bucket = Object.keys(resources).find((id) => id.startsWith('ArtifactsBucket'));
    const writes = Object.values(resources)
      .filter((r) => r.Type === 'Custom::AWS')
      .map(
        (r) =>
          JSON.parse(resolveJoin(r.Properties.Update)) as {
            parameters: Record<string, string>;
          },
      );
    expect(writes.map((w) => w.parameters.Key).sort()).toEqual([
      'registry/deployed.json',
      `registry/history/${registry.version}.json`,
    ]);
    for (const write of writes) {
      expect(write.parameters.Bucket).toBe(`<${bucket}>`);
      expect(write.parameters.Body).toBe(stableStringify(registry, 0));
    }
    const writerRole = Object.keys(resources).find((id) =>
      id.startsWith('RegistryRecordWriterRole'),
    );
    const grants = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .filter((r) => JSON.stringify(r.Properties.Roles).includes(`"${writerRole}"`))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: unknown[] }).Statement);
    expect(grants).toEqual(
      ['registry/deployed.json', `registry/history/${registry.version}.json`].map((key) => ({
        Action: 's3:PutObject',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${key}`]] },
      })),
    );
  }, 180_000);
});

/** A custom resource's call document with `{ Ref: <bucket> }` written as `<bucket>`. */
function resolveJoin(value: unknown): string {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1]
    .map((part) => (typeof part === 'string' ? part : `<${(part as { Ref: string }).Ref}>`))
    .join('');
}
