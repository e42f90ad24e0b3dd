import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { ingestRecordsSummaryPrefix } from '../materialize/ingest-records-summary.ts';
import { permanentShardErrors } from '../materialize/permanent-shard-errors.ts';
import { viewTileSpec } from '../online/aggregation-tiles/view-tile-spec.ts';
import type { Registry } from '../registry/index.ts';
import { materializerRegistryProjection } from '../registry/runtime-projection.ts';
import { projectFiles, registryBundling, retention } from './function-defaults.ts';
import { functionRole } from './function-role.ts';
import type { OfflineStore } from './offline-store.ts';

export interface ShardedMaterializationProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  readonly table: dynamodb.ITableV2;
  readonly offlineStore: OfflineStore;
  /** The single materializer, which runs the runs estimated under the threshold. */
  readonly materializer: lambda.IFunction;
  /** The offline bucket's folder the runs' UNLOADs write to (sharded-run.ts unloadFolder). */
  readonly unloadFolder: string;
  /** The quarantine folder the shard writers put rejected rows under. */
  readonly quarantinePrefix: string;
  /** Active X-Ray tracing on the functions. Default false. */
  readonly tracing?: boolean;
}

const runEntry = fileURLToPath(new URL('../../lambdas/materialize-run/index.ts', import.meta.url));
const shardEntry = fileURLToPath(
  new URL('../../lambdas/materialize-shard/index.ts', import.meta.url),
);

/** Lambda's own transient failures (the optimized integration's names), retried on every task. */
const lambdaServiceErrors = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/**
 * Sharded materialization (issue 21): a Standard state machine per environment, started by the
 * schedules of the views `stage.materialization.sharding.views` names (input `{"view": ...}`,
 * optionally `"full": true`). Its run controller function takes the view's lease and plans the
 * run (for a tile-fed view after bringing the source's commit records summary up to date, which
 * its ingest coverage then reads): under the threshold it invokes the materializer function
 * asynchronously and ends; otherwise it starts one Athena UNLOAD (polled every 15 s by the state
 * machine; meanwhile, for a tile-fed run, it adds the records committed since to the summary
 * its shards read), then a
 * DISTRIBUTED Map runs one shard writer per shard (at most `maxConcurrency` at once, each a
 * Standard child execution that invokes the writer again while it pauses near its timeout, a
 * failed shard retried alone with backoff), and the controller moves the watermark once every
 * shard succeeded. Any failure records the run as failed and gives the lease back, keeping
 * every checkpoint for the next execution. Logs every event (without execution data: no feature
 * values in logs) and traces with X-Ray. No business logic here.
 */
export class ShardedMaterialization extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly runFunction: nodejs.NodejsFunction;
  readonly shardFunction: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: ShardedMaterializationProps) {
    super(scope, id);
    const { stage, offlineStore } = props;
    const sharding = stage.materialization.sharding;
    const removalPolicy = stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const runtime = materializerRegistryProjection(props.registry);
    const bundling = registryBundling(runtime);
    // A tile-fed sharded view's shards query its tile base rows (ADR 0022, "Tile bases").
    const tileFed = sharding.views.some((name) => {
      const view = runtime.featureViews.find((v) => v.name === name);
      return view !== undefined && viewTileSpec(runtime, view) !== undefined;
    });
    const common = {
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      bundling,
      ...projectFiles,
    };
    const shared = {
      TABLE_NAME: props.table.tableName,
      OFFLINE_BUCKET: offlineStore.bucket.bucketName,
      NODE_OPTIONS: '--enable-source-maps',
    };

    const runName = `fstore-${stage.name}-materialize-run`;
    const runLogs = new logs.LogGroup(this, 'RunLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy,
    });
    this.runFunction = new nodejs.NodejsFunction(this, 'RunController', {
      ...common,
      functionName: runName,
      entry: runEntry,
      memorySize: 512,
      timeout: Duration.minutes(2),
      role: functionRole(this, 'RunControllerRole', {
        logGroup: runLogs,
        description: `Execution role of ${runName}`,
      }),
      logGroup: runLogs,
      environment: {
        ...shared,
        ATHENA_WORKGROUP: offlineStore.workgroup.ref,
        ATHENA_DATABASE: offlineStore.databaseName,
        ALLOWED_LATENESS_SECONDS: String(stage.materialization.allowedLatenessSeconds),
        SHARDS: String(sharding.shards),
        MIN_ROWS: String(sharding.minRows),
      },
    });
    props.table.grant(this.runFunction, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    // The UNLOAD runs as this function: Athena reads the sources and writes the run's folder.
    offlineStore.grantQuery(this.runFunction, { readRequests: false });
    // Listing the UNLOAD folder (no reads): the poll records what the UNLOAD wrote, a resume
    // checks it.
    offlineStore.grantObjects(this.runFunction, {
      read: ['offline/_ingests/'],
      list: [props.unloadFolder],
      writtenByAthena: [props.unloadFolder],
    });
    // The records step keeps the commit records summary the tile-fed shards read.
    if (tileFed)
      offlineStore.grantObjects(this.runFunction, {
        read: [ingestRecordsSummaryPrefix],
        write: [ingestRecordsSummaryPrefix],
      });

    const shardName = `fstore-${stage.name}-materialize-shard`;
    const shardLogs = new logs.LogGroup(this, 'ShardLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy,
    });
    this.shardFunction = new nodejs.NodejsFunction(this, 'ShardWriter', {
      ...common,
      functionName: shardName,
      entry: shardEntry,
      memorySize: 1024,
      timeout: Duration.minutes(15),
      role: functionRole(this, 'ShardWriterRole', {
        logGroup: shardLogs,
        description: `Execution role of ${shardName}`,
      }),
      logGroup: shardLogs,
      environment: {
        ...shared,
        QUARANTINE_PREFIX: props.quarantinePrefix,
        WRITE_CONCURRENCY: String(stage.materialization.writeConcurrency),
        ...(tileFed
          ? {
              ATHENA_WORKGROUP: offlineStore.workgroup.ref,
              ATHENA_DATABASE: offlineStore.databaseName,
            }
          : {}),
      },
    });
    props.table.grant(
      this.shardFunction,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    offlineStore.grantObjects(this.shardFunction, {
      read: [props.unloadFolder],
      write: [props.quarantinePrefix],
    });
    // The base query runs as the writer: the single materializer's grants, only when needed;
    // the records summary it reads only (the run's records step writes it).
    if (tileFed) {
      offlineStore.grantQuery(this.shardFunction, { readRequests: false });
      offlineStore.grantObjects(this.shardFunction, { read: [ingestRecordsSummaryPrefix] });
      offlineStore.grantTileBaseRanges(this.shardFunction);
    }

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `fstore-${stage.name}-materialize-sharded`,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(props)),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogs', {
          retention: retention(stage.logRetentionDays),
          removalPolicy,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [
          this.runFunction.functionArn,
          this.shardFunction.functionArn,
          props.materializer.functionArn,
        ],
      }),
    );
    ShardedMaterialization.acknowledge(this);
  }

  private definition(props: ShardedMaterializationProps): sfn.IChainable {
    const sharding = props.stage.materialization.sharding;
    // Tasks name each function by its exact ARN (the state machine's role may invoke those three
    // and nothing else; LambdaInvoke would also grant every version, <arn>:*).
    const invoke = (
      id: string,
      fn: lambda.IFunction,
      parameters: Record<string, unknown>,
      resultPath: string | null,
    ) =>
      new sfn.CustomState(this, id, {
        stateJson: {
          Type: 'Task',
          Resource: fn.functionArn,
          Parameters: parameters,
          ResultPath: resultPath,
        },
      }).addRetry({
        errors: lambdaServiceErrors,
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 6,
        jitterStrategy: sfn.JitterType.FULL,
      });
    const controller = (id: string, payload: Record<string, unknown>, resultPath: string | null) =>
      invoke(id, this.runFunction, payload, resultPath);
    const ref = {
      'view.$': '$.run.view',
      'runId.$': '$.run.runId',
      'owner.$': '$.run.owner',
    };

    const defaults = new sfn.Pass(this, 'Defaults', {
      parameters: {
        'args.$': `States.JsonMerge(States.StringToJson('{"full":false}'), $, false)`,
      },
    });
    const start = controller(
      'StartRun',
      {
        action: 'start',
        'view.$': '$.args.view',
        'full.$': '$.args.full',
        'execution.$': '$$.Execution.Name',
      },
      '$.run',
    );
    const busy = new sfn.Succeed(this, 'AnotherRunHoldsTheLease');
    start.addCatch(busy, { errors: ['MaterializationBusyError'], resultPath: '$.busy' });

    // Asynchronous (InvocationType Event): the materializer runs, and continues itself, alone.
    const single = new sfn.CustomState(this, 'RunSingleMaterializer', {
      stateJson: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: {
          FunctionName: props.materializer.functionArn,
          InvocationType: 'Event',
          Payload: { 'view.$': '$.args.view', 'full.$': '$.args.full' },
        },
        ResultPath: null,
      },
    }).next(new sfn.Succeed(this, 'HandedToMaterializer'));
    const failed = new sfn.Fail(this, 'RunFailed', {
      error: 'ShardedRunFailed',
      cause: 'see the run controller log and the view state (fstore status)',
    });
    const recordFailure = controller(
      'RecordFailure',
      { action: 'fail', ...ref, 'error.$': 'States.JsonToString($.error)' },
      null,
    ).next(failed);

    const waitUnload = new sfn.Wait(this, 'WaitForUnload', {
      time: sfn.WaitTime.duration(Duration.seconds(15)),
    });
    const pollUnload = controller(
      'PollUnload',
      { action: 'poll', 'queryExecutionId.$': '$.run.queryExecutionId', ...ref },
      '$.unload',
    );
    const unloadFailed = new sfn.Pass(this, 'UnloadFailed', {
      parameters: { Error: 'UnloadFailed', 'Cause.$': '$.unload.reason' },
      resultPath: '$.error',
    }).next(recordFailure);

    const writeShard = invoke(
      'WriteShard',
      this.shardFunction,
      {
        'view.$': '$.view',
        'runId.$': '$.runId',
        'owner.$': '$.owner',
        'shard.$': '$.shard',
        'unloadPrefix.$': '$.unloadPrefix',
      },
      '$.result',
    );
    writeShard.addRetry({ errors: [...permanentShardErrors], maxAttempts: 0 });
    writeShard.addRetry({
      errors: [sfn.Errors.ALL],
      interval: Duration.seconds(10),
      backoffRate: 2,
      maxAttempts: 3,
      jitterStrategy: sfn.JitterType.FULL,
    });
    // A writer that paused near its timeout goes on from its checkpoint in a new invocation.
    const shardDone = new sfn.Choice(this, 'ShardPaused')
      .when(sfn.Condition.stringEquals('$.result.status', 'paused'), writeShard)
      .otherwise(new sfn.Succeed(this, 'ShardWritten'));
    const shards = new sfn.DistributedMap(this, 'WriteShards', {
      itemsPath: '$.run.items',
      maxConcurrency: sharding.maxConcurrency,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      toleratedFailurePercentage: 0,
      resultPath: sfn.JsonPath.DISCARD,
      label: 'shards',
    });
    shards.itemProcessor(writeShard.next(shardDone));
    shards.addCatch(recordFailure, { resultPath: '$.error' });
    const finish = controller('FinishRun', { action: 'finish', ...ref }, '$.finished');
    finish.addCatch(recordFailure, { resultPath: '$.error' });
    shards.next(finish).next(new sfn.Succeed(this, 'WatermarkMoved'));

    const unloadState = new sfn.Choice(this, 'UnloadDone')
      .when(sfn.Condition.stringEquals('$.unload.state', 'SUCCEEDED'), shards)
      .when(
        sfn.Condition.or(
          sfn.Condition.stringEquals('$.unload.state', 'QUEUED'),
          sfn.Condition.stringEquals('$.unload.state', 'RUNNING'),
        ),
        waitUnload,
      )
      .otherwise(unloadFailed);
    waitUnload.next(pollUnload).next(unloadState);
    pollUnload.addCatch(recordFailure, { resultPath: '$.error' });

    // A tile-fed run's shards each read the source's commit records summary: brought up to
    // date once here (while the UNLOAD runs), a page of records per invocation, invoked again
    // while records are left, so no shard reads every record (ADR 0022, "Tile bases").
    const records = controller('UpdateRecordsSummary', { action: 'records', ...ref }, '$.records');
    records.addCatch(recordFailure, { resultPath: '$.error' });
    records.next(
      new sfn.Choice(this, 'RecordsSummaryUpToDate')
        .when(sfn.Condition.booleanEquals('$.records.done', false), records)
        .otherwise(
          new sfn.Choice(this, 'UnloadOrShards')
            .when(sfn.Condition.booleanEquals('$.run.unload', true), waitUnload)
            .otherwise(shards),
        ),
    );
    const mode = new sfn.Choice(this, 'SmallOrSharded')
      .when(sfn.Condition.stringEquals('$.run.mode', 'single'), single)
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.run.tiles'),
          sfn.Condition.booleanEquals('$.run.tiles', true),
        ),
        records,
      )
      .when(sfn.Condition.booleanEquals('$.run.unload', true), waitUnload)
      .otherwise(shards);
    // Before the start (no lease yet), the same step brings a tile-fed view's records summary
    // up to date, a page per invocation, so the start step's ingest coverage reads the summary
    // and the records committed since, not every record in one 2-minute invocation (a first
    // run). A view that is not tile-fed answers done at once.
    const recordsBeforeStart = controller(
      'RecordsSummaryBeforeStart',
      { action: 'records', 'view.$': '$.args.view' },
      '$.recordsBeforeStart',
    );
    recordsBeforeStart.next(
      new sfn.Choice(this, 'RecordsSummaryReadyForStart')
        .when(sfn.Condition.booleanEquals('$.recordsBeforeStart.done', false), recordsBeforeStart)
        .otherwise(start),
    );
    start.next(mode);
    return defaults.next(recordsBeforeStart);
  }

  /**
   * The state machine role's wildcards cdk-nag finds, each acknowledged on the role alone with
   * what it covers (test/infra/acknowledgement-claims.ts checks each claim on the template).
   */
  private static acknowledge(construct: ShardedMaterialization): void {
    const role = construct.stateMachine.role;
    const machine = Stack.of(construct).resolve(
      (construct.stateMachine.node.defaultChild as sfn.CfnStateMachine).logicalId,
    );
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machine}"}]}]}`;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and log delivery to CloudWatch Logs (logs:CreateLogDelivery and the other delivery actions) take no resource ARN; no other action is granted on *.',
    });
    // CDK puts the map's grants in a policy of their own beside the role's.
    const mapPolicy = construct.stateMachine.node.findChild('DistributedMapPolicy');
    Validations.of(mapPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${executions}:*]`,
      reason:
        'The Distributed Map describes and stops its own child executions, whose names Step Functions generates: executions of this state machine only.',
    });
    Validations.of(mapPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${executions}/shards:*]`,
      reason:
        'The Distributed Map run "shards" of this state machine (its map run ARN has a generated id): executions of this state machine only.',
    });
  }
}
