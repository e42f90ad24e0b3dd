import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { buildApp } from '../../lib/stacks/build-app.ts';
import { loadExampleRegistry, newApp, synthStage, synthWithViolations } from './synth-app.ts';

type Statement = { Effect: string; Action: unknown; Resource: unknown; Condition?: unknown };
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** What the policies attached to `roleId` allow, one `action resource condition` line each. */
function allows(template: Template, roleId: string): string[] {
  const lines = new Set<string>();
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = policy.Properties.Roles as { Ref: string }[];
    if (!roles.some((r) => r.Ref === roleId)) continue;
    for (const s of policy.Properties.PolicyDocument.Statement as Statement[])
      for (const action of list(s.Action))
        for (const resource of list(s.Resource))
          lines.add(`${action} ${JSON.stringify(resource)} ${JSON.stringify(s.Condition ?? {})}`);
  }
  return [...lines].sort();
}

function roleId(template: Template, prefix: string): string {
  const ids = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) =>
    id.startsWith(prefix),
  );
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

// Each case synthesizes the whole app; slow on a loaded machine.
describe('the scheduled compaction of pushed rows (PushCompaction)', { timeout: 300_000 }, () => {
  it('is an arm64 container-image function with DuckDB, on a 15-minute schedule with a dead-letter queue, its role exactly the compaction role (listing the delivery errors included) plus its queue, cdk-nag clean', async () => {
    const { template, violations, registry, assembly } = await synthStage('dev');
    expect(violations).toEqual([]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fstore-dev-push-compaction',
      PackageType: 'Image',
      Architectures: ['arm64'],
      Timeout: 900,
      EphemeralStorage: { Size: 10240 },
      ReservedConcurrentExecutions: 2,
      Environment: {
        Variables: Match.objectLike({ MAX_OBJECTS: '50', RESERVE_MS: '180000' }),
      },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'fstore-dev-push-compaction',
      ScheduleExpression: 'rate(15 minutes)',
      ScheduleExpressionTimezone: 'UTC',
      Target: Match.objectLike({
        Input: '{}',
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'fstore-dev-push-compaction-dlq',
      SqsManagedSseEnabled: true,
    });
    const functionLogs = template.findResources('AWS::Logs::LogGroup');
    expect(
      Object.entries(functionLogs).some(
        ([id, r]) =>
          id.startsWith('PushCompactionFunctionLogs') && r.Properties.RetentionInDays === 30,
      ),
    ).toBe(true);

    const compaction = allows(template, roleId(template, 'CompactionRole'));
    const compactor = allows(template, roleId(template, 'PushCompactionServiceRole'));
    const extra = compactor.filter((line) => !compaction.includes(line));
    expect(compaction.filter((line) => !compactor.includes(line))).toEqual([]);
    // Listing the delivery errors is the compaction role's too (compact --env counts them).
    const listErrors = new RegExp(
      `^s3:ListBucket .*"StringEquals":\\{"s3:prefix":\\[${registry.sources.map((s) => `"offline/_push-errors/${s.name}/"`).join(',')}\\]\\}\\}$`,
    );
    expect(compaction.filter((line) => listErrors.test(line))).toHaveLength(1);
    expect(compactor.filter((line) => listErrors.test(line))).toHaveLength(1);
    // Beyond the compaction role: (the on-failure destination) sending to its own dead-letter queue.
    const queue = Object.keys(template.findResources('AWS::SQS::Queue')).find((id) =>
      id.startsWith('PushCompactionDeadLetters'),
    );
    const sqs = ['GetQueueAttributes', 'GetQueueUrl', 'SendMessage'].map(
      (action) => `sqs:${action} {"Fn::GetAtt":["${queue}","Arn"]} {}`,
    );
    expect(extra.filter((line) => line.startsWith('sqs:'))).toEqual(sqs);
    expect(extra.filter((line) => !line.startsWith('sqs:'))).toEqual([]);

    // The image's build context: the bundled handler and a lock naming only DuckDB.
    const manifest = JSON.parse(
      readFileSync(path.join(assembly?.directory ?? '', 'fstore-dev.assets.json'), 'utf8'),
    ) as { dockerImages: Record<string, { source: { directory: string } }> };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    const context = path.join(assembly?.directory ?? '', images[0]?.source.directory ?? '');
    expect(existsSync(path.join(context, 'index.mjs'))).toBe(true);
    expect(readFileSync(path.join(context, 'Dockerfile'), 'utf8')).toMatch(/npm ci --omit=dev/);
    const lock = JSON.parse(readFileSync(path.join(context, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };
    expect(Object.keys(lock.packages).every((k) => k === '' || /duckdb|detect-libc/.test(k))).toBe(
      true,
    );
    expect(lock.packages['node_modules/@duckdb/node-bindings-linux-arm64']).toMatchObject({
      integrity: expect.stringMatching(/^sha512-/),
    });
  });

  it('alarms on a failed run, its dead letters, delivery errors and rows staged longer than three runs', async () => {
    const { template } = await synthStage('dev');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-push-compaction-failed',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Threshold: 1,
      EvaluationPeriods: 1,
      Period: 900,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-push-compaction-dlq',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-push-delivery-errors',
      MetricName: 'PushErrorObjects',
      Namespace: 'fstore',
      Dimensions: [{ Name: 'service', Value: 'push-compaction' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-push-staged-age',
      MetricName: 'OldestStagedPushAge',
      Threshold: 2700,
      ComparisonOperator: 'GreaterThanThreshold',
      Period: 1800,
      TreatMissingData: 'missing',
      InsufficientDataActions: [Match.anyValue()],
    });
  });

  it('follows the stage schedule in the schedule and the age alarm, and builds nothing with false', async () => {
    const registry = await loadExampleRegistry();
    const hourly = newApp();
    const built = buildApp({
      app: hourly,
      stage: resolveStageConfig('dev', { compaction: { schedule: 'rate(1 hour)' } }),
      registry,
    });
    expect(synthWithViolations(hourly).violations).toEqual([]);
    const template = Template.fromStack(built.stack);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'fstore-dev-push-compaction',
      ScheduleExpression: 'rate(1 hour)',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-push-staged-age',
      Threshold: 10_800,
    });

    const off = newApp();
    const none = buildApp({
      app: off,
      stage: resolveStageConfig('dev', { compaction: { schedule: false } }),
      registry,
    });
    expect(synthWithViolations(off).violations).toEqual([]);
    const offTemplate = Template.fromStack(none.stack);
    const resources = offTemplate.toJSON().Resources as Record<string, unknown>;
    expect(Object.keys(resources).filter((id) => id.startsWith('PushCompaction'))).toEqual([]);
    const alarmNames = Object.values(offTemplate.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties.AlarmName as string,
    );
    expect(
      alarmNames.filter((n) => /push-compaction|push-staged-age|push-delivery-errors/.test(n)),
    ).toEqual([]);
    expect(alarmNames.length).toBeGreaterThan(0);
  });
});
