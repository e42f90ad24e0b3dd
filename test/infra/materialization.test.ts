import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { compileRegistry, loadDefinitions } from '../../lib/registry/index.ts';
import { buildApp } from '../../lib/stacks/build-app.ts';
import { repoRoot, writeDefs } from '../helpers/run-fstore.ts';
import { newApp, synthStage, synthWithViolations } from './synth-app.ts';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The example feature-defs/ with one schedule replaced, as a user would edit it. */
async function templateWithSchedule(from: string, to: string): Promise<Resources> {
  const dir = path.join(repoRoot, 'feature-defs');
  const files: Record<string, string> = {};
  for (const name of await readdir(dir)) {
    const text = (await readFile(path.join(dir, name), 'utf8')).replaceAll(
      '../lib/definitions/index.ts',
      'fstore:definitions',
    );
    files[name] = text.replace(`schedule: '${from}'`, `schedule: '${to}'`);
  }
  const registry = compileRegistry(await loadDefinitions(await writeDefs(files)));
  const app = newApp();
  const { stack } = buildApp({ app, stage: resolveStageConfig('dev'), registry });
  const { assembly, violations } = synthWithViolations(app);
  if (!assembly) throw new Error(JSON.stringify(violations));
  return Template.fromStack(stack).toJSON().Resources as Resources;
}

/** Registry-version tags and the functions' bundles (which compile the registry in) aside. */
function comparable(resources: Resources): Resources {
  return JSON.parse(
    JSON.stringify(resources, (key, value) => {
      if (key === 'S3Key') return '<asset>';
      if (
        Array.isArray(value) &&
        value.every((t) => t && typeof t === 'object' && 'Key' in t && 'Value' in t)
      )
        return value.filter((t: { Key: string }) => t.Key !== 'fstore:registry-version');
      if (key === 'Tags' && value && typeof value === 'object' && !Array.isArray(value)) {
        const { 'fstore:registry-version': _v, ...rest } = value as Record<string, unknown>;
        return rest;
      }
      return value;
    }),
  );
}

describe('Materialization construct', () => {
  it('schedules every online view with its own expression, input, retry policy and dead-letter queue', async () => {
    const { template, registry } = await synthStage('dev');
    const online = registry.featureViews.filter((v) => v.online && v.schedule);
    expect(online.length).toBe(4);
    // One per online view, plus the push compaction's (test/infra/push-compaction.test.ts).
    template.resourceCountIs('AWS::Scheduler::Schedule', online.length + 1);
    for (const view of online)
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        Name: `fstore-dev-${view.name}`,
        ScheduleExpression: view.schedule,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: Match.objectLike({
          Input: JSON.stringify({ view: view.name }),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: Match.anyValue() },
        }),
      });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'fstore-dev-materialize-dlq',
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
  }, 180_000);

  it('runs the materializer on arm64 Node.js 24 with 15 minutes and its configuration', async () => {
    const { template } = await synthStage('dev');
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fstore-dev-materialize',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: Match.anyValue(),
          ATHENA_WORKGROUP: Match.anyValue(),
          ATHENA_DATABASE: 'fstore_dev',
          QUARANTINE_PREFIX: 'quarantine/',
          ALLOWED_LATENESS_SECONDS: '3600',
          WRITE_CONCURRENCY: '32',
        }),
      },
    });
  }, 180_000);

  it('gives the materializer least privilege: its table actions, its workgroup, Glue tables, quarantine writes, its records summaries, itself', async () => {
    const { template } = await synthStage('dev');
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
      id.startsWith('MaterializationMaterializerServiceRoleDefaultPolicy'),
    );
    expect(policies).toHaveLength(1);
    const [, policy] = policies[0] ?? [];
    const statements = (
      policy as {
        Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
      }
    ).Properties.PolicyDocument.Statement;
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toEqual(
      expect.arrayContaining([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'athena:StartQueryExecution',
        'athena:GetQueryResults',
        'glue:GetTable',
        's3:PutObject',
        'lambda:InvokeFunction',
      ]),
    );
    for (const forbidden of [
      'dynamodb:DeleteItem',
      'dynamodb:Scan',
      'dynamodb:BatchWriteItem',
      '*',
    ])
      expect(actions).not.toContain(forbidden);
    // No deletes anywhere, and nothing of training-set requests or prepared statements.
    expect(actions.filter((a) => /Delete/.test(a))).toEqual([]);
    expect(actions).not.toContain('athena:GetPreparedStatement');
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    const resources = JSON.stringify(statements.map((s) => s.Resource));
    expect(resources).toContain('/quarantine/*');
    // The tile bases' summaries of commit records: read and written there, nowhere else.
    const summaries = statements.filter((s) =>
      JSON.stringify(s.Resource).includes('/tile-base-records/*'),
    );
    expect(summaries.flatMap((s) => s.Action).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    // The ranges its tile base queries ship as data: written there, read by Athena as it.
    const ranges = statements.filter((s) =>
      JSON.stringify(s.Resource).includes('/tile-base-ranges/*'),
    );
    expect(ranges.flatMap((s) => s.Action).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(resources).not.toContain('/requests/*');
    expect(resources).not.toContain('fstore_requests_');
    expect(resources).toContain(':function:fstore-dev-materialize');
    // Its source reads go through the committed-ingest filter: the records table, read only.
    const glue = statements.filter((s) => JSON.stringify(s.Action).includes('glue:'));
    expect(JSON.stringify(glue.map((s) => s.Resource))).toContain(
      ':table/fstore_dev/fstore_ingests',
    );
    expect(JSON.stringify(glue.map((s) => s.Resource))).toContain(
      ':table/fstore_dev/fstore_tile_base_ranges',
    );
    expect(JSON.stringify(glue.map((s) => s.Action))).not.toMatch(
      /glue:(Create|Update|Delete|Batch)/,
    );
    expect(resources).toContain('/offline/*');
  }, 180_000);

  it('lets only the scheduler service of this account assume the scheduler role', async () => {
    const { template } = await synthStage('dev');
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
    });
  }, 180_000);

  it('changing one view’s schedule in the definitions changes only that schedule’s expression and the deployed-registry record', async () => {
    const before = comparable(await templateWithSchedule('rate(1 day)', 'rate(1 day)'));
    const after = comparable(await templateWithSchedule('rate(1 day)', 'cron(0 3 * * ? *)'));
    const changedIds = Object.keys(after).filter(
      (id) => JSON.stringify(after[id]) !== JSON.stringify(before[id]),
    );
    // The deploy must record the registry it deployed (ADR 0010), so its record changes too.
    const recordIds = changedIds.filter((id) => id.startsWith('RegistryRecord'));
    expect(recordIds.length).toBeGreaterThan(0);
    const changed = changedIds.filter((id) => !id.startsWith('RegistryRecord'));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^MaterializationScheduleCustomerContract[0-9A-F]{8}$/);
    const { ScheduleExpression: a, ...restBefore } = before[changed[0] as string]?.Properties ?? {};
    const { ScheduleExpression: b, ...restAfter } = after[changed[0] as string]?.Properties ?? {};
    expect([a, b]).toEqual(['rate(1 day)', 'cron(0 3 * * ? *)']);
    expect(restAfter).toEqual(restBefore);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
  }, 300_000);

  it('sends asynchronous invocations that fail after Lambda’s retries to the dead-letter queue', async () => {
    const { template } = await synthStage('dev');
    const queues = template.findResources('AWS::SQS::Queue', {
      Properties: { QueueName: 'fstore-dev-materialize-dlq' },
    });
    const [queueId] = Object.keys(queues);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^MaterializationMaterializer') },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    // The function may send to that queue, and only to it.
    const policies = template.findResources('AWS::IAM::Policy');
    const sends = Object.entries(policies)
      .filter(([id]) => id.startsWith('MaterializationMaterializerServiceRole'))
      .flatMap(
        ([, p]) =>
          (
            p as {
              Properties: {
                PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] };
              };
            }
          ).Properties.PolicyDocument.Statement,
      )
      .filter((s) => JSON.stringify(s.Action).includes('sqs:SendMessage'));
    expect(sends.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [queueId, 'Arn'] }]);
  }, 180_000);

  it('reserves one concurrent execution per online view plus one, or the stage setting', async () => {
    const { template, registry } = await synthStage('dev');
    const online = registry.featureViews.filter((v) => v.online && v.schedule).length;
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fstore-dev-materialize',
      ReservedConcurrentExecutions: online + 1,
    });
    const custom = await synthStage(
      resolveStageConfig('dev', {
        materialization: { reservedConcurrency: 2 },
        api: { reservedConcurrency: 40 },
      }),
    );
    custom.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fstore-dev-materialize',
      ReservedConcurrentExecutions: 2,
    });
    custom.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MAX_ENTITIES: '1000' }) },
      ReservedConcurrentExecutions: 40,
    });
    // Lookups share the unreserved pool unless the stage reserves some.
    const lookups = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) =>
      JSON.stringify(f).includes('MAX_ENTITIES'),
    );
    expect(lookups).toHaveLength(1);
    expect(JSON.stringify(lookups[0])).not.toContain('ReservedConcurrentExecutions');
  }, 300_000);

  it('runs the lookup, the push function, the push compaction, the materializer and the registry-record writer under roles that write only their own log group, with no managed policy', async () => {
    const { template } = await synthStage('dev');
    const roleEntries = Object.entries(template.findResources('AWS::IAM::Role')).filter(([, r]) =>
      JSON.stringify(r).includes('lambda.amazonaws.com'),
    );
    expect(roleEntries.filter(([id]) => id.startsWith('RegistryRecordWriterRole'))).toHaveLength(1);
    const roles = roleEntries.map(([, r]) => r) as {
      Properties: {
        ManagedPolicyArns?: unknown;
        Policies?: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } }[];
      };
    }[];
    const functionRoles = roles.filter((r) => JSON.stringify(r).includes('logs:PutLogEvents'));
    expect(functionRoles).toHaveLength(5);
    for (const role of functionRoles) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      const statements = role.Properties.Policies?.flatMap((p) => p.PolicyDocument.Statement) ?? [];
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: {
            'Fn::GetAtt': [expect.stringMatching(/FunctionLogs|^RegistryRecordWriterLogs/), 'Arn'],
          },
        },
      ]);
    }
  }, 180_000);
});
