import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import type { StageConfig } from '../../lib/config/stage-config.ts';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { Monitoring } from '../../lib/constructs/monitoring.ts';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { loadExampleRegistry, synthStage } from './synth-app.ts';

const inlineFunction = (stack: Stack, id: string) =>
  new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });

/** Monitoring alone in a stack (no bundling): its template and the stack's annotations. */
async function monitoringOnly(stage: StageConfig, options: { push?: boolean } = {}) {
  const stack = new Stack(new App(), 'monitoring');
  const pushFunction = options.push
    ? new lambda.Function(stack, 'Push', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({})'),
        timeout: Duration.seconds(28),
      })
    : undefined;
  new Monitoring(stack, 'Monitoring', {
    stage,
    registry: await loadExampleRegistry(),
    lookupFunction: inlineFunction(stack, 'Lookup'),
    deadLetterQueue: new sqs.Queue(stack, 'DeadLetters'),
    ...(pushFunction ? { pushFunction } : {}),
  });
  return { template: Template.fromStack(stack), annotations: Annotations.fromStack(stack) };
}

describe('Monitoring construct', () => {
  it('alarms per online view when two consecutive runs report lag above twice the schedule interval, ignoring silence', async () => {
    const { template, registry } = await synthStage('dev');
    const expected: Record<string, number> = {
      customer_profile: 2 * 6 * 3600,
      customer_contract: 2 * 86_400,
      last_order: 2 * 3600,
      order_stats: 2 * 3600,
    };
    for (const view of registry.featureViews.filter((v) => v.online))
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `fstore-dev-${view.name}-freshness`,
        Namespace: 'fstore',
        MetricName: 'FreshnessLag',
        Dimensions: Match.arrayWith([{ Name: 'view', Value: view.name }]),
        Statistic: 'Maximum',
        Threshold: expected[view.name],
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        // Silence is the stalled alarm's job; breaching would fire right after every deploy.
        TreatMissingData: 'ignore',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarms') }],
      });
  }, 180_000);

  it('alarms on two consecutive materialization failures of a view', async () => {
    const { template } = await synthStage('dev');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-last_order-materialization-failures',
      MetricName: 'MaterializationFailures',
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 1,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
  }, 180_000);

  it('alarms on the lookup 5xx share and p99 latency at the stage thresholds, the latency of lookups alone (never a push’s)', async () => {
    const { template } = await synthStage(
      resolveStageConfig('prod', { monitoring: { lookupP99Ms: 80, lookup5xxPercent: 0.5 } }),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-prod-lookup-p99',
      MetricName: 'LookupLatency',
      Namespace: 'fstore',
      Dimensions: [{ Name: 'service', Value: 'online-lookup' }],
      ExtendedStatistic: 'p99',
      Threshold: 80,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-prod-lookup-5xx',
      Threshold: 0.5,
    });
  }, 180_000);

  it('counts only the lookup function’s answers in the lookup 5xx share, never the push route’s (which has its own alarm)', async () => {
    const { template } = await monitoringOnly(resolveStageConfig('prod'), { push: true });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties,
    );
    const lookup5xx = alarms.find((a) => a.AlarmName === 'fstore-prod-lookup-5xx');
    const metrics = (lookup5xx?.Metrics ?? []) as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] } };
    }[];
    const stats = metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []));
    // API Gateway's 5xx and Count of the stage (no route dimension) include POST /v1/push.
    expect(stats.filter((m) => m.Namespace === 'AWS/ApiGateway')).toEqual([]);
    expect(stats.map((m) => [m.Namespace, m.MetricName]).sort()).toEqual([
      ['AWS/Lambda', 'Errors'],
      ['AWS/Lambda', 'Throttles'],
      ['fstore', 'LookupLatency'],
      ['fstore', 'ServerErrors'],
    ]);
    for (const m of stats.filter((m) => m.Namespace === 'fstore'))
      expect(m.Dimensions).toEqual([{ Name: 'service', Value: 'online-lookup' }]);
    for (const m of stats.filter((m) => m.Namespace === 'AWS/Lambda'))
      expect(m.Dimensions).toEqual([
        { Name: 'FunctionName', Value: { Ref: expect.stringMatching(/^Lookup/) } },
      ]);
    expect(JSON.stringify(metrics)).not.toContain('Push');
    // The push route's own 5xx alarm stays.
    expect(alarms.find((a) => a.AlarmName === 'fstore-prod-push-5xx')).toMatchObject({
      MetricName: 'ServerErrors',
      Dimensions: [{ Name: 'service', Value: 'push' }],
    });
  });

  it('notifies one KMS-encrypted topic per environment, subscribes the stage emails and https endpoints, and draws a dashboard', async () => {
    const { template } = await synthStage(
      resolveStageConfig('dev', {
        alarms: {
          emails: ['ml-oncall@example.com', 'ml-lead@example.com'],
          httpsEndpoints: ['https://events.pagerduty.example/integration/abc/enqueue'],
        },
      }),
    );
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'fstore-dev-alarms',
      KmsMasterKeyId: Match.anyValue(),
    });
    for (const email of ['ml-oncall@example.com', 'ml-lead@example.com'])
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: email,
      });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://events.pagerduty.example/integration/abc/enqueue',
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    expect(Object.values(dashboards)).toHaveLength(1);
    const body = JSON.stringify(Object.values(dashboards)[0]);
    for (const text of ['FreshnessLag', 'RowsWritten', 'Latency', '5xx', 'fstore-dev'])
      expect(body).toContain(text);
    // The stack hands the push function to Monitoring: its alarms and widgets are there.
    for (const text of ['RowsPushed', 'Throttles', 'Push function']) expect(body).toContain(text);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-push-errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^ServingApiPushFunction') } },
      ],
    });
    const noEmail = await synthStage('dev');
    noEmail.template.resourceCountIs('AWS::SNS::Subscription', 0);
  }, 180_000);

  it('uses a view’s expectedFreshness instead of the default, and alarms on its quality rules', () => {
    const customer = defineEntity({
      name: 'customer',
      joinKeys: [{ name: 'customer_id', type: 'string' }],
    });
    const source = defineSource({
      name: 'profiles',
      schema: { customer_id: 'string', plan: 'string', event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    const registry = compileRegistry([
      {
        definition: defineFeatureView({
          name: 'profile',
          entities: [customer],
          source,
          features: { plan: 'string' },
          online: true,
          schedule: 'cron(0 3 * * ? *)',
          expectedFreshness: '30h',
          quality: { minRows: 10 },
        }),
      },
    ]);
    const stack = new Stack(new App(), 'monitoring');
    new Monitoring(stack, 'Monitoring', {
      stage: resolveStageConfig('dev'),
      registry,
      lookupFunction: inlineFunction(stack, 'Lookup'),
      deadLetterQueue: new sqs.Queue(stack, 'DeadLetters'),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-profile-freshness',
      Threshold: 30 * 3600,
      Period: 86_400,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-profile-quality',
      MetricName: 'QualityRuleViolations',
      Threshold: 1,
    });
  });

  it('reports a view with no successful run for its expected freshness, without firing after a deploy', async () => {
    const { template } = await monitoringOnly(resolveStageConfig('dev'));
    for (const [view, period, periods] of [
      ['last_order', 3600, 2],
      ['customer_profile', 6 * 3600, 2],
      ['customer_contract', 86_400, 2],
    ] as const)
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `fstore-dev-${view}-stalled`,
        MetricName: 'MaterializationSucceeded',
        Dimensions: Match.arrayWith([{ Name: 'view', Value: view }]),
        Statistic: 'Sum',
        Period: period,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        EvaluationPeriods: periods,
        DatapointsToAlarm: periods,
        // A new alarm starts INSUFFICIENT_DATA; only a later OK -> INSUFFICIENT_DATA notifies.
        TreatMissingData: 'missing',
        InsufficientDataActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarms') }],
      });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: { TreatMissingData?: string } }).Properties,
    );
    expect(alarms.filter((a) => a.TreatMissingData === 'breaching')).toEqual([]);
  });

  it('spans a long expected freshness with more periods, within CloudWatch’s seven-day window', async () => {
    const { stalledAlarmProps } = await import('../../lib/constructs/monitoring.ts');
    expect(stalledAlarmProps(30 * 3600, 3600).evaluationPeriods).toBe(30);
    expect(stalledAlarmProps(20 * 86_400, 86_400).evaluationPeriods).toBe(7);
    expect(stalledAlarmProps(3 * 86_400, 300).evaluationPeriods).toBe(288);
    expect(stalledAlarmProps(600, 300).evaluationPeriods).toBe(2);
  });

  it('alarms as soon as a failed materialization waits in the dead-letter queue', async () => {
    const { template } = await monitoringOnly(resolveStageConfig('dev'));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-materialize-dlq',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetters'), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarms') }],
    });
  });

  it('alarms on the push function’s errors, throttles, p99 duration near its timeout and 5xx answers', async () => {
    const { template } = await monitoringOnly(resolveStageConfig('dev'), { push: true });
    const functionName = [
      { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Push') } },
    ];
    for (const [name, metric, extra] of [
      ['errors', 'Errors', { Statistic: 'Sum', Threshold: 1 }],
      ['throttles', 'Throttles', { Statistic: 'Sum', Threshold: 1 }],
      // 80% of the function's 28 s timeout: pushes about to time out (API Gateway's 30 s).
      ['duration', 'Duration', { ExtendedStatistic: 'p99', Threshold: 22_400 }],
    ] as const)
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `fstore-dev-push-${name}`,
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: functionName,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarms') }],
        OKActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarms') }],
        ...extra,
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-dev-push-5xx',
      Namespace: 'fstore',
      MetricName: 'ServerErrors',
      Dimensions: [{ Name: 'service', Value: 'push' }],
      Statistic: 'Sum',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const text of ['RowsPushed', 'ClientErrors', 'Throttles', 'Duration'])
      expect(body).toContain(text);
  });

  it('draws no push alarm without a push function', async () => {
    const { template } = await monitoringOnly(resolveStageConfig('dev'));
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: { AlarmName: string } }).Properties.AlarmName,
    );
    expect(names.filter((n) => n.includes('-push-'))).toEqual([]);
  });

  it('warns at synth when a production stage has no alarm subscriber', async () => {
    const { annotations } = await monitoringOnly(resolveStageConfig('prod'));
    annotations.hasWarning(
      '/monitoring/Monitoring',
      Match.stringLikeRegexp('Production stage "prod" has no alarm subscriber'),
    );
  });

  it('does not warn for a production stage with a subscriber, nor for dev without one', async () => {
    for (const stage of [
      resolveStageConfig('prod', { alarms: { emails: ['oncall@example.com'] } }),
      resolveStageConfig('prod-eu', {
        alarms: { httpsEndpoints: ['https://hooks.example.com/a'] },
      }),
      resolveStageConfig('dev'),
    ]) {
      const { annotations } = await monitoringOnly(stage);
      annotations.hasNoWarning('*', Match.stringLikeRegexp('no alarm subscriber'));
    }
  });
});
