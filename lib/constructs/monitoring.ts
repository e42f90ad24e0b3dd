import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { longestIntervalSeconds } from '../local/next-run.ts';
import type { Registry, RegistryFeatureView } from '../registry/index.ts';
import { pascal } from './logical-id.ts';

export interface MonitoringProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  /**
   * The lookup function behind the lookup routes: the lookup 5xx share counts its answers (EMF
   * `ServerErrors` and `LookupLatency` samples, service `online-lookup`) and its failed and
   * throttled invocations, so answers of `POST /v1/push` (same API, own alarms) never count.
   */
  readonly lookupFunction: lambda.IFunction;
  /** Where failed materializations end (Scheduler's undelivered and Lambda's failed events). */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The push function behind `POST /v1/push/{source}`: alarms on its errors, throttles, p99
   * duration near its timeout and 5xx answers, and dashboard widgets. Absent: none of them.
   */
  readonly pushFunction?: lambda.Function;
  /**
   * The scheduled compaction of pushed rows: alarms on failed runs, its dead-letter queue,
   * objects under `offline/_push-errors/` and the age of the oldest staged object. Absent: none.
   */
  /**
   * The state machine of sharded materialization runs: alarms on failed and timed-out
   * executions, and a widget. Absent (sharding off): none of them.
   */
  readonly shardedRuns?: sfn.IStateMachine;
  readonly pushCompaction?: {
    readonly function: lambda.IFunction;
    readonly deadLetterQueue: sqs.IQueue;
    /** Longest time between two scheduled runs. */
    readonly intervalSeconds: number;
  };
}

const namespace = 'fstore';

/**
 * Alarms and a dashboard for one environment, all notifying one encrypted SNS topic (with the
 * stage's `alarms` email and https subscriptions; a production stage without any gets a synth
 * warning). Per online view: freshness lag above its expected freshness in two consecutive
 * runs; no successful run for as long as its expected freshness (see `stalledAlarmProps`); two
 * failed materializations in a row. The materialization dead-letter queue holding anything.
 * For the lookup API: the 5xx share and the p99 latency above the stage thresholds. For the
 * push function: errors, throttles, p99 duration near its timeout and 5xx answers.
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
    const subscribers = stage.alarms.emails.length + stage.alarms.httpsEndpoints.length;
    if (stage.production && subscribers === 0)
      Annotations.of(this).addWarningV2(
        'fstore:alarms-reach-nobody',
        `Production stage "${stage.name}" has no alarm subscriber: alarms go to the topic fstore-${stage.name}-alarms and reach nobody. Set alarms.emails or alarms.httpsEndpoints in cdk.json "stages", or -c alarmEmail=<address>.`,
      );

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
        alarmDescription: `Online values of ${view.name} were older than ${expected} s (expected freshness) after two consecutive runs`,
        metric: lag,
        ...freshnessAlarmProps(expected),
      });
      const succeeded = new cloudwatch.Metric({
        namespace,
        metricName: 'MaterializationSucceeded',
        dimensionsMap: dimensions,
        statistic: 'Sum',
        period,
      });
      const stalled = this.alarm(notify, `Stalled${pascal(view.name)}`, {
        alarmName: `fstore-${stage.name}-${view.name}-stalled`,
        alarmDescription: `No successful materialization of ${view.name} for ${expected} s (expected freshness); this alarm reports it as INSUFFICIENT_DATA, the state it also starts in after a deploy, which notifies nobody until the view has run once`,
        metric: succeeded,
        ...stalledAlarmProps(expected, period.toSeconds()),
      });
      stalled.addInsufficientDataAction(notify);
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

    const errorRate = lookupErrorRate(props.lookupFunction);
    // The lookup function's own EMF sample per answer: the API's Latency would count pushes too.
    const p99 = lookupMetric('LookupLatency', 'p99');
    this.alarm(notify, 'Lookup5xx', {
      alarmName: `fstore-${stage.name}-lookup-5xx`,
      alarmDescription: `More than ${stage.monitoring.lookup5xxPercent}% of lookups answered 5xx or failed (crashed, timed out, throttled) in 2 of 3 five-minute periods; push answers are not counted (push alarms)`,
      metric: errorRate,
      threshold: stage.monitoring.lookup5xxPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm(notify, 'LookupLatency', {
      alarmName: `fstore-${stage.name}-lookup-p99`,
      alarmDescription: `Lookup p99 latency (the lookup function's time per answer, pushes not counted) above ${stage.monitoring.lookupP99Ms} ms`,
      metric: p99,
      threshold: stage.monitoring.lookupP99Ms,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const deadLetters = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(5),
    });
    this.alarm(notify, 'MaterializeDeadLetters', {
      alarmName: `fstore-${stage.name}-materialize-dlq`,
      alarmDescription:
        'Materializations that failed after every retry wait in the dead-letter queue; read them, fix the cause, then purge or redrive',
      metric: deadLetters,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // SQS stops sending metrics for an idle queue: silence means nothing arrived.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    widgets.push(
      new cloudwatch.GraphWidget({
        title: 'Failed materializations waiting in the dead-letter queue',
        left: [deadLetters],
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: 'Lookup latency p99 (ms)', left: [p99], width: 12 }),
      new cloudwatch.GraphWidget({
        title: 'Lookup requests and 5xx % (lookup routes only)',
        left: [lookupMetric('LookupLatency', 'SampleCount').with({ label: 'lookups' })],
        right: [errorRate],
        width: 12,
      }),
    );
    if (props.shardedRuns) widgets.push(...this.shardedRunAlarms(notify, stage, props.shardedRuns));
    if (props.pushFunction) widgets.push(...this.pushAlarms(notify, stage, props.pushFunction));
    if (props.pushCompaction)
      widgets.push(...this.pushCompactionAlarms(notify, stage, props.pushCompaction));
    widgets.push(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `fstore-${stage.name}`,
      widgets: chunk(widgets, 2),
    });
  }

  /**
   * The push function's alarms, each on 2 of 3 five-minute periods so one stray failure does not
   * page: Lambda errors (crashes, timeouts; handled failures answer 5xx instead) and throttles
   * (producers get 429/5xx), p99 duration at 80% of its timeout (pushes about to be cut off),
   * and its 5xx answers (`ServerErrors`: a store failing or a bug). Returns its widgets.
   */
  private pushAlarms(
    notify: actions.SnsAction,
    stage: StageConfig,
    push: lambda.Function,
  ): cloudwatch.IWidget[] {
    const period = Duration.minutes(5);
    const twoOfThree = {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    } as const;
    const errors = push.metricErrors({ statistic: 'Sum', period });
    const throttles = push.metricThrottles({ statistic: 'Sum', period });
    const duration = push.metricDuration({ statistic: 'p99', period });
    const timeoutMs = push.timeout?.toMilliseconds();
    const pushMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace,
        metricName,
        dimensionsMap: { service: 'push' },
        statistic,
        period,
      });
    const serverErrors = pushMetric('ServerErrors', 'Sum');
    this.alarm(notify, 'PushErrors', {
      alarmName: `fstore-${stage.name}-push-errors`,
      alarmDescription:
        'The push function failed (crashed or timed out) in 2 of 3 five-minute periods; its log group has the cause',
      metric: errors,
      threshold: 1,
      ...twoOfThree,
    });
    this.alarm(notify, 'PushThrottles', {
      alarmName: `fstore-${stage.name}-push-throttles`,
      alarmDescription:
        'Push invocations were throttled in 2 of 3 five-minute periods: producers see errors; raise the account or function concurrency',
      metric: throttles,
      threshold: 1,
      ...twoOfThree,
    });
    if (timeoutMs !== undefined)
      this.alarm(notify, 'PushDuration', {
        alarmName: `fstore-${stage.name}-push-duration`,
        alarmDescription: `Push p99 duration reached 80% of the function's ${timeoutMs} ms timeout in 2 of 3 five-minute periods`,
        metric: duration,
        threshold: Math.round(timeoutMs * 0.8),
        ...twoOfThree,
      });
    this.alarm(notify, 'Push5xx', {
      alarmName: `fstore-${stage.name}-push-5xx`,
      alarmDescription:
        'The push route answered 5xx (a store failing after retries, or a bug) in 2 of 3 five-minute periods; the log names each request id',
      metric: serverErrors,
      threshold: 1,
      ...twoOfThree,
    });
    return [
      new cloudwatch.GraphWidget({
        title: 'Pushed rows, client errors and 5xx answers',
        left: [pushMetric('RowsPushed', 'Sum')],
        right: [pushMetric('ClientErrors', 'Sum'), serverErrors],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Push function: errors, throttles and p99 duration (ms)',
        left: [errors, throttles],
        right: [duration],
        width: 12,
      }),
    ];
  }

  /**
   * The scheduled compaction's alarms, each notifying on the first bad period: a failed run
   * (Lambda errors: a source refused, S3 denied, a crash or a timeout; one failure repeats every
   * run until fixed, and the next run retries); an invocation in its dead-letter queue; objects
   * Firehose could not deliver (`PushErrorObjects` above 0: they are never compacted); and
   * pushed rows not reaching the offline store (`OldestStagedPushAge` above three runs' worth).
   * Every run reports the age (0 with nothing staged), so runs that stop leave the age alarm
   * INSUFFICIENT_DATA, which notifies too. Returns its widgets.
   */
  private pushCompactionAlarms(
    notify: actions.SnsAction,
    stage: StageConfig,
    compaction: NonNullable<MonitoringProps['pushCompaction']>,
  ): cloudwatch.IWidget[] {
    const period = Duration.seconds(clamp(compaction.intervalSeconds, 300, 86_400));
    const metric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace,
        metricName,
        dimensionsMap: { service: 'push-compaction' },
        statistic: 'Maximum',
        period,
      });
    const once = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    } as const;
    const errors = compaction.function.metricErrors({ statistic: 'Sum', period });
    const deadLetters = compaction.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(5),
    });
    const pushErrors = metric('PushErrorObjects');
    // Two runs' worth per period: a run a little late must not leave a period without data.
    const age = metric('OldestStagedPushAge').with({
      period: Duration.seconds(clamp(2 * compaction.intervalSeconds, 300, 86_400)),
    });
    const maxAgeSeconds = 3 * compaction.intervalSeconds;
    this.alarm(notify, 'PushCompactionFailed', {
      alarmName: `fstore-${stage.name}-push-compaction-failed`,
      alarmDescription:
        'A scheduled compaction of pushed rows failed; its log names each failed source and why (the other sources ran)',
      metric: errors,
      ...once,
    });
    this.alarm(notify, 'PushCompactionDeadLetters', {
      alarmName: `fstore-${stage.name}-push-compaction-dlq`,
      alarmDescription:
        'Scheduled compactions that failed or could not be delivered wait in the dead-letter queue; read them, fix the cause, then purge',
      metric: deadLetters,
      ...once,
    });
    this.alarm(notify, 'PushErrorObjects', {
      alarmName: `fstore-${stage.name}-push-delivery-errors`,
      alarmDescription:
        'Pushed rows that never reach the offline store without a person: records Firehose could not convert or deliver (offline/_push-errors/<source>/) or staged objects the ingest refused (offline/_push/<source>/_refused/, a .reason.json beside each): read them, fix the cause, push again, then delete them',
      metric: pushErrors,
      ...once,
    });
    const stale = this.alarm(notify, 'PushStagedAge', {
      alarmName: `fstore-${stage.name}-push-staged-age`,
      alarmDescription: `A pushed row has waited in offline/_push/ for more than ${maxAgeSeconds} s (three scheduled compactions); INSUFFICIENT_DATA means no compaction reported at all`,
      metric: age,
      threshold: maxAgeSeconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });
    stale.addInsufficientDataAction(notify);
    return [
      new cloudwatch.GraphWidget({
        title: 'Push compaction: oldest staged row (s) and delivery errors',
        left: [age],
        right: [pushErrors],
        leftAnnotations: [{ value: maxAgeSeconds, label: 'three runs' }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Push compaction: failed runs and dead letters',
        left: [errors, deadLetters],
        width: 12,
      }),
    ];
  }

  /**
   * A sharded run that failed (UNLOAD, a shard after its retries, the watermark step) or ran past
   * the state machine's timeout: one execution is enough to page, since the view's watermark
   * stays where it was until an execution succeeds. A lease held by another run ends the
   * execution in success, not failure.
   */
  private shardedRunAlarms(
    notify: actions.SnsAction,
    stage: StageConfig,
    machine: sfn.IStateMachine,
  ): cloudwatch.IWidget[] {
    const period = Duration.minutes(5);
    const failed = machine.metricFailed({ period, statistic: 'Sum' });
    const timedOut = machine.metricTimedOut({ period, statistic: 'Sum' });
    for (const [id, metric, what] of [
      ['ShardedRunsFailed', failed, 'failed'],
      ['ShardedRunsTimedOut', timedOut, 'timed out'],
    ] as const)
      this.alarm(notify, id, {
        alarmName: `fstore-${stage.name}-materialize-sharded-${what.replace(' ', '-')}`,
        alarmDescription: `A sharded materialization run ${what}; the view's watermark stays until a run succeeds. Read the execution's history, fix the cause, and start the state machine again with {"view": ...}: it resumes only the unfinished shards`,
        metric,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    return [
      new cloudwatch.GraphWidget({
        title: 'Sharded materialization runs failed / timed out',
        left: [failed, timedOut],
        width: 12,
      }),
    ];
  }

  private alarm(
    notify: actions.SnsAction,
    id: string,
    props: Omit<cloudwatch.AlarmProps, 'actionsEnabled'>,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, props);
    alarm.addAlarmAction(notify);
    alarm.addOkAction(notify);
    this.alarms.push(alarm);
    return alarm;
  }
}

const lookupMetric = (metricName: string, statistic: string) =>
  new cloudwatch.Metric({
    namespace,
    metricName,
    dimensionsMap: { service: 'online-lookup' },
    statistic,
    period: Duration.minutes(5),
  });

/**
 * The share of lookups answered 5xx or failed, from the lookup function's own signals: its EMF
 * `ServerErrors` over its answers (`LookupLatency` samples), plus invocations that crashed,
 * timed out or were throttled (API Gateway answers those 5xx without the handler's metrics).
 * API Gateway's `5xx` and `Count` of the stage would count the push route too; per-route
 * API Gateway metrics need detailed metrics on the stage, billed as custom metrics (about 6 per
 * route, 36 for the 6 routes), for what these free metrics already tell. Missing data is 0.
 */
function lookupErrorRate(lookup: lambda.IFunction): cloudwatch.MathExpression {
  const period = Duration.minutes(5);
  const all = 'FILL(answered, 0) + FILL(failed, 0) + FILL(throttled, 0)';
  return new cloudwatch.MathExpression({
    expression: `IF(${all} > 0, 100 * (FILL(errors, 0) + FILL(failed, 0) + FILL(throttled, 0)) / (${all}), 0)`,
    usingMetrics: {
      errors: lookupMetric('ServerErrors', 'Sum'),
      answered: lookupMetric('LookupLatency', 'SampleCount'),
      failed: lookup.metricErrors({ statistic: 'Sum', period }),
      throttled: lookup.metricThrottles({ statistic: 'Sum', period }),
    },
    label: '5xx %',
    period,
  });
}

/** The view's expected freshness, or twice its longest schedule interval. */
export function expectedFreshnessSeconds(
  view: RegistryFeatureView,
  intervalSeconds: number,
): number {
  return view.expectedFreshnessSeconds ?? 2 * intervalSeconds;
}

/**
 * The lag alarm: it fires on what runs report, never on silence. Missing data keeps the state
 * (IGNORE), so a new alarm stays INSUFFICIENT_DATA after a deploy until the first run reports,
 * and a period without a run neither fires nor clears it. Two consecutive stale runs, so a late
 * source delivery that the next run catches up does not page anyone.
 */
export function freshnessAlarmProps(expectedSeconds: number) {
  return {
    threshold: expectedSeconds,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.IGNORE,
  } as const;
}

/**
 * The heartbeat: runs that stop (schedule disabled, throttled, every run failing) report no lag
 * at all. `MaterializationSucceeded` is only ever 1 per run, so with missing data MISSING the
 * alarm is OK while runs succeed and goes INSUFFICIENT_DATA when no run succeeded in the whole
 * window (its evaluation periods span the expected freshness); that transition notifies. A
 * breaching treatment would fire at once after a deploy, since the metric has no history then.
 */
export function stalledAlarmProps(expectedSeconds: number, periodSeconds: number) {
  // CloudWatch caps an alarm's window (periods x period) at one day for sub-hour periods and at
  // seven days otherwise; a longer expected freshness is watched over the longest window.
  const longestWindow = periodSeconds < 3600 ? 86_400 : 7 * 86_400;
  const periods = clamp(
    Math.ceil(expectedSeconds / periodSeconds),
    2,
    Math.floor(longestWindow / periodSeconds),
  );
  return {
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: periods,
    datapointsToAlarm: periods,
    treatMissingData: cloudwatch.TreatMissingData.MISSING,
  } as const;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const rows: T[][] = [];
  for (let i = 0; i < items.length; i += size) rows.push(items.slice(i, i + size));
  return rows;
}
