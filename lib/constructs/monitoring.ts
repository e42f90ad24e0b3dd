import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { longestIntervalSeconds } from '../local/next-run.ts';
import type { Registry, RegistryFeatureView } from '../registry/index.ts';
import { pascal } from './logical-id.ts';

export interface MonitoringProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  readonly api: apigw.IHttpApi;
}

const namespace = 'fstore';

/**
 * Alarms and a dashboard for one environment, all notifying one encrypted SNS topic (with an
 * email subscription when the stage has `alarmEmail`): per online view, freshness lag above
 * its expected freshness (missing data counts as stale) and two failed materializations in a
 * row; for the lookup API, the 5xx share and the p99 latency above the stage thresholds.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { stage, registry } = props;
    // A customer managed key: CloudWatch alarms cannot publish to a topic under alias/aws/sns.
    const key = new kms.Key(this, 'AlarmsKey', {
      description: `Encrypts the fstore ${stage.name} alarm topic`,
      enableKeyRotation: true,
      removalPolicy: stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const account = { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } };
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: ['*'],
        conditions: account,
      }),
    );
    this.topic = new sns.Topic(this, 'Alarms', {
      topicName: `fstore-${stage.name}-alarms`,
      displayName: `fstore ${stage.name} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['sns:Publish'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: [this.topic.topicArn],
        conditions: account,
      }),
    );
    for (const email of stage.alarms.emails)
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    for (const url of stage.alarms.httpsEndpoints)
      this.topic.addSubscription(new subscriptions.UrlSubscription(url));
    const notify = new actions.SnsAction(this.topic);

    const online = registry.featureViews.filter((v) => v.online && v.schedule);
    const widgets: cloudwatch.IWidget[] = [];
    for (const view of online) {
      const dimensions = { service: 'materialize', view: view.name };
      const intervalSeconds = longestIntervalSeconds(view.schedule as string);
      const expected = expectedFreshnessSeconds(view, intervalSeconds);
      const period = Duration.seconds(clamp(intervalSeconds, 300, 86_400));
      const lag = new cloudwatch.Metric({
        namespace,
        metricName: 'FreshnessLag',
        dimensionsMap: dimensions,
        statistic: 'Maximum',
        period,
      });
      const failures = new cloudwatch.Metric({
        namespace,
        metricName: 'MaterializationFailures',
        dimensionsMap: dimensions,
        statistic: 'Sum',
        period,
      });
      const written = new cloudwatch.Metric({
        namespace,
        metricName: 'RowsWritten',
        dimensionsMap: dimensions,
        statistic: 'Sum',
        period,
      });
      this.alarm(notify, `Freshness${pascal(view.name)}`, {
        alarmName: `fstore-${stage.name}-${view.name}-freshness`,
        alarmDescription: `Online values of ${view.name} are older than ${expected} s (expected freshness)`,
        metric: lag,
        threshold: expected,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      this.alarm(notify, `Failures${pascal(view.name)}`, {
        alarmName: `fstore-${stage.name}-${view.name}-materialization-failures`,
        alarmDescription: `Materialization of ${view.name} failed in two consecutive periods`,
        metric: failures,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (view.quality)
        this.alarm(notify, `Quality${pascal(view.name)}`, {
          alarmName: `fstore-${stage.name}-${view.name}-quality`,
          alarmDescription: `A materialization of ${view.name} broke the view's quality rules (min rows, max NULL share)`,
          metric: new cloudwatch.Metric({
            namespace,
            metricName: 'QualityRuleViolations',
            dimensionsMap: dimensions,
            statistic: 'Sum',
            period,
          }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
      widgets.push(
        new cloudwatch.GraphWidget({
          title: `${view.name}: freshness lag (s) and rows written`,
          left: [lag],
          right: [written],
          leftAnnotations: [{ value: expected, label: 'expected freshness' }],
          width: 12,
        }),
      );
    }

    const apiDimensions = { ApiId: props.api.apiId, Stage: '$default' };
    const apiMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: apiDimensions,
        statistic,
        period: Duration.minutes(5),
      });
    const errorRate = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { errors: apiMetric('5xx', 'Sum'), requests: apiMetric('Count', 'Sum') },
      label: '5xx %',
      period: Duration.minutes(5),
    });
    const p99 = apiMetric('Latency', 'p99');
    this.alarm(notify, 'Lookup5xx', {
      alarmName: `fstore-${stage.name}-lookup-5xx`,
      alarmDescription: `More than ${stage.monitoring.lookup5xxPercent}% of lookups answered 5xx`,
      metric: errorRate,
      threshold: stage.monitoring.lookup5xxPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm(notify, 'LookupLatency', {
      alarmName: `fstore-${stage.name}-lookup-p99`,
      alarmDescription: `Lookup p99 latency above ${stage.monitoring.lookupP99Ms} ms`,
      metric: p99,
      threshold: stage.monitoring.lookupP99Ms,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    widgets.push(
      new cloudwatch.GraphWidget({ title: 'Lookup latency p99 (ms)', left: [p99], width: 12 }),
      new cloudwatch.GraphWidget({
        title: 'Lookup requests and 5xx %',
        left: [apiMetric('Count', 'Sum')],
        right: [errorRate],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `fstore-${stage.name}`,
      widgets: chunk(widgets, 2),
    });
  }

  private alarm(
    notify: actions.SnsAction,
    id: string,
    props: Omit<cloudwatch.AlarmProps, 'actionsEnabled'>,
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, props);
    alarm.addAlarmAction(notify);
    alarm.addOkAction(notify);
    this.alarms.push(alarm);
  }
}

/** The view's expected freshness, or twice its longest schedule interval. */
export function expectedFreshnessSeconds(
  view: RegistryFeatureView,
  intervalSeconds: number,
): number {
  return view.expectedFreshnessSeconds ?? 2 * intervalSeconds;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const rows: T[][] = [];
  for (let i = 0; i < items.length; i += size) rows.push(items.slice(i, i + size));
  return rows;
}
