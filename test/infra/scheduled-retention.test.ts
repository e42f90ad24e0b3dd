import { Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { ScheduledRetention } from '../../lib/constructs/scheduled-retention.ts';
import { s3SnapshotsPrefix } from '../../lib/offline/s3-snapshots.ts';
import { buildApp } from '../../lib/stacks/build-app.ts';
import { editedExampleRegistry } from '../helpers/edited-example-registry.ts';
import { newApp, synthWithViolations } from './synth-app.ts';

type Statement = { Action: unknown; Resource: unknown; Condition?: unknown };
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

function build() {
  const app = newApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'RetentionTest', {
    env: { account: '111122223333', region: 'us-east-1' },
  });
  const bucket = new s3.Bucket(stack, 'Offline');
  const topic = new sns.Topic(stack, 'Alarms');
  // The stack's real bucket and topic are SecureBucket and Monitoring's (tested there).
  for (const id of ['AwsSolutions-S1', 'AwsSolutions-S10'])
    Validations.of(bucket).acknowledge({ id, reason: 'test scaffolding' });
  Validations.of(topic).acknowledge({ id: 'AwsSolutions-SNS3', reason: 'test scaffolding' });
  new ScheduledRetention(stack, 'Retention', {
    stage: resolveStageConfig('dev'),
    bucket,
    retentions: { orders: 365 * 86_400, clicks: 30 * 86_400 },
    // The registry's prefixes (clicks at a prefix of its own, to tell them from offline/<source>/).
    prefixes: { orders: 'offline/orders/', clicks: 'tables/clicks-v2/', views: 'offline/views/' },
    timestampFields: { orders: 'event_ts', clicks: 'clicked_at', views: 'viewed_at' },
    alarmTopic: topic,
  });
  const { assembly, violations } = synthWithViolations(app);
  return { template: assembly ? Template.fromStack(stack) : undefined, violations };
}

describe('the scheduled retention (ScheduledRetention)', { timeout: 300_000 }, () => {
  const built = build();

  it('is cdk-nag clean', () => {
    expect(built.violations).toEqual([]);
  });

  it("runs daily with {} and the sources' retentions, one at a time", () => {
    const template = built.template as Template;
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'fstore-dev-retention',
      ScheduleExpression: 'rate(1 day)',
      Target: Match.objectLike({ Input: '{}' }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fstore-dev-retention',
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({
          RETENTIONS: JSON.stringify({ orders: 31_536_000, clicks: 2_592_000 }),
          OFFLINE_PREFIXES: JSON.stringify({
            orders: 'offline/orders/',
            clicks: 'tables/clicks-v2/',
          }),
          TIMESTAMP_FIELDS: JSON.stringify({ orders: 'event_ts', clicks: 'clicked_at' }),
        }),
      },
    });
  });

  it("is a container image with DuckDB (the boundary day's rewrite), built for arm64 with /tmp for the objects", () => {
    (built.template as Template).hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fstore-dev-retention',
      PackageType: 'Image',
      Architectures: ['arm64'],
      EphemeralStorage: { Size: Match.anyValue() },
    });
  });

  it('alarms on a failed run, notifying the topic', () => {
    (built.template as Template).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-retention-failed',
      MetricName: 'Errors',
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
  });

  it('alarms, missing data breaching, when two days in a row retained no source (no run, or every source busy)', () => {
    (built.template as Template).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-retention-not-run',
      Namespace: 'fstore',
      MetricName: 'SourcesRetained',
      Dimensions: [{ Name: 'service', Value: 'retention' }],
      Statistic: 'Sum',
      Period: 86_400,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
  });

  // Logs go to its own log group (functionRole's inline policy); these are its other grants.
  it('may only list, read, write and delete (every version) the dt= partitions of those sources, read their commit records, commit a rewrite, take their compaction locks and read the snapshots', () => {
    const template = built.template as Template;
    const lines: string[] = [];
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      const roles = policy.Properties.Roles as { Ref: string }[];
      if (!roles.some((r) => r.Ref.startsWith('RetentionServiceRole'))) continue;
      for (const s of policy.Properties.PolicyDocument.Statement as Statement[])
        for (const action of list(s.Action))
          for (const resource of list(s.Resource)) {
            const text = JSON.stringify(resource);
            const key = /"\/([^"]*)"\]\]\}$/.exec(text)?.[1] ?? 'bucket';
            lines.push(`${action} ${key} ${JSON.stringify(s.Condition ?? {})}`);
          }
    }
    expect(lines.sort()).toEqual(
      [
        's3:DeleteObject offline/orders/dt=* {}',
        's3:DeleteObject tables/clicks-v2/dt=* {}',
        's3:DeleteObject offline/_ingests/orders/compactions/_lock.json {}',
        's3:DeleteObject offline/_ingests/clicks/compactions/_lock.json {}',
        's3:GetObject offline/_ingests/orders/compactions/_lock.json {}',
        's3:GetObject offline/_ingests/clicks/compactions/_lock.json {}',
        's3:PutObject offline/_ingests/orders/compactions/_lock.json {}',
        's3:PutObject offline/_ingests/clicks/compactions/_lock.json {}',
        `s3:ListBucket bucket ${JSON.stringify({ StringLike: { 's3:prefix': ['offline/orders/dt=*', 'tables/clicks-v2/dt=*'] } })}`,
        // The boundary day's rewrite (lib/offline/s3-rewrite-objects.ts): the objects and records
        // it reads, the objects it writes, its one commit record, every version of what it replaced.
        's3:GetObject offline/orders/dt=* {}',
        's3:GetObject tables/clicks-v2/dt=* {}',
        's3:PutObject offline/orders/dt=* {}',
        's3:PutObject tables/clicks-v2/dt=* {}',
        's3:DeleteObjectVersion offline/orders/dt=* {}',
        's3:DeleteObjectVersion tables/clicks-v2/dt=* {}',
        's3:GetObject offline/_ingests/orders/* {}',
        's3:GetObject offline/_ingests/clicks/* {}',
        's3:PutObject offline/_ingests/orders/compactions/* {}',
        's3:PutObject offline/_ingests/clicks/compactions/* {}',
        `s3:ListBucket bucket ${JSON.stringify({ StringEquals: { 's3:prefix': ['offline/orders/', 'tables/clicks-v2/', 'offline/_ingests/orders/', 'offline/_ingests/clicks/'] } })}`,
        `s3:ListBucketVersions bucket ${JSON.stringify({ StringLike: { 's3:prefix': ['offline/orders/dt=*', 'tables/clicks-v2/dt=*'] } })}`,
        // The snapshots' pins (issue 19 §1): read only, under their prefix only.
        `s3:GetObject ${s3SnapshotsPrefix}* {}`,
        `s3:ListBucket bucket ${JSON.stringify({ StringLike: { 's3:prefix': `${s3SnapshotsPrefix}*` } })}`,
      ].sort(),
    );
  });
});

describe('the stack with a source retention', { timeout: 600_000 }, () => {
  it('adds the scheduled retention of that source, its alarm on the alarm topic, and stays cdk-nag clean', async () => {
    const registry = await editedExampleRegistry([
      {
        file: 'sources.ts',
        from: "  timestampField: 'event_ts',\n  createdTimestampField: 'created_ts',\n  description: 'Orders placed",
        to: "  timestampField: 'event_ts',\n  createdTimestampField: 'created_ts',\n  retention: '365d',\n  description: 'Orders placed",
      },
    ]);
    const app = newApp();
    const { stack } = buildApp({ app, stage: resolveStageConfig('dev'), registry });
    const { assembly, violations } = synthWithViolations(app);
    expect(violations).toEqual([]);
    const template = Template.fromStack(stack);
    expect(assembly).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fstore-dev-retention',
      Environment: {
        Variables: Match.objectLike({
          RETENTIONS: '{"orders":31536000}',
          OFFLINE_PREFIXES: JSON.stringify({
            orders: registry.sources.find((s) => s.name === 'orders')?.offline.s3Prefix,
          }),
          TIMESTAMP_FIELDS: '{"orders":"event_ts"}',
        }),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-retention-failed',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarms') }],
    });
  });
});
