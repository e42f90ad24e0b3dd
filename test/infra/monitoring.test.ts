import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { Monitoring } from '../../lib/constructs/monitoring.ts';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { synthStage } from './synth-app.ts';

describe('Monitoring construct', () => {
  it('alarms per online view when freshness lag exceeds twice the schedule interval, treating silence as stale', async () => {
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
        TreatMissingData: 'breaching',
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

  it('alarms on the lookup API 5xx share and p99 latency at the stage thresholds', async () => {
    const { template } = await synthStage(
      resolveStageConfig('prod', { monitoring: { lookupP99Ms: 80, lookup5xxPercent: 0.5 } }),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-prod-lookup-p99',
      MetricName: 'Latency',
      Namespace: 'AWS/ApiGateway',
      ExtendedStatistic: 'p99',
      Threshold: 80,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fstore-prod-lookup-5xx',
      Threshold: 0.5,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(requests > 0, 100 * errors / requests, 0)' }),
      ]),
    });
  }, 180_000);

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
    const api = new apigw.HttpApi(stack, 'Api');
    new Monitoring(stack, 'Monitoring', { stage: resolveStageConfig('dev'), registry, api });
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
});
