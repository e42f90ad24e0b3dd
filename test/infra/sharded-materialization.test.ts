import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { buildApp } from '../../lib/stacks/build-app.ts';
import { editedExampleRegistry } from '../helpers/edited-example-registry.ts';
import { falseAcknowledgements } from './acknowledgement-claims.ts';
import { newApp, synthStage, synthWithViolations } from './synth-app.ts';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
interface PolicyStatement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

const shardedStage = resolveStageConfig('prod', {
  materialization: {
    sharding: {
      views: ['customer_profile'],
      maxConcurrency: 12,
      unloadExpirationDays: 3,
      warmWriteUnitsPerSecond: 30_000,
    },
  },
});

/** The definition of the one state machine, as Step Functions reads it. */
// biome-ignore lint/suspicious/noExplicitAny: the ASL document is read field by field in assertions
function definitionOf(template: Template): Record<string, any> {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const body = machine?.Properties?.DefinitionString as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : '<ref>'))
    .join('');
  return JSON.parse(text);
}

function policiesOf(template: Template, roleLogicalIdPart: string) {
  const resources = template.toJSON().Resources as Resources;
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
    .filter(([, r]) => JSON.stringify(r.Properties?.Roles).includes(roleLogicalIdPart))
    .flatMap(
      ([, r]) =>
        (r.Properties?.PolicyDocument as { Statement?: PolicyStatement[] } | undefined)
          ?.Statement ?? [],
    );
}

describe('sharded materialization on AWS (CDK)', () => {
  let synth: Awaited<ReturnType<typeof synthStage>>;
  beforeAll(async () => {
    synth = await synthStage(shardedStage);
  }, 600_000);

  it('synthesizes cdk-nag clean with the state machine, its two functions and its alarms', () => {
    expect(synth.violations).toEqual([]);
    const { template } = synth;
    // Each acknowledgement (X-Ray and log delivery on *, the map's own executions) is true.
    expect(falseAcknowledgements(synth.stack, template)).toEqual([]);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'fstore-prod-materialize-sharded',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fstore-prod-materialize-shard',
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ QUARANTINE_PREFIX: 'quarantine/' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fstore-prod-materialize-run',
      Environment: { Variables: Match.objectLike({ SHARDS: '20', MIN_ROWS: '1000000' }) },
    });
    for (const [name, metric] of [
      ['fstore-prod-materialize-sharded-failed', 'ExecutionsFailed'],
      ['fstore-prod-materialize-sharded-timed-out', 'ExecutionsTimedOut'],
    ])
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: name,
        MetricName: metric,
        Namespace: 'AWS/States',
        Threshold: 1,
        AlarmActions: Match.anyValue(),
      });
  });

  it('runs the shards in a DISTRIBUTED map of the start step’s items, at the stage’s concurrency, retrying a failed shard alone', () => {
    const states = definitionOf(synth.template).States;
    const map = states.WriteShards;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.run.items',
      MaxConcurrency: 12,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
    const write = map.ItemProcessor.States.WriteShard;
    // A shard's failure fails the map (default tolerance 0), after its own retries only.
    expect(map.ToleratedFailurePercentage ?? 0).toBe(0);
    const retries = write.Retry as { ErrorEquals: string[]; MaxAttempts: number }[];
    expect(retries.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], MaxAttempts: 3 });
    expect(retries.find((r) => r.ErrorEquals.includes('StaleShardError'))?.MaxAttempts).toBe(0);
    // A writer deployed without Athena for a tile-fed run: no retry mends it.
    expect(retries.find((r) => r.ErrorEquals.includes('ShardTileBasesError'))?.MaxAttempts).toBe(0);
    expect(
      retries.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException')),
    ).toBeDefined();
    // The writer paused near its timeout is invoked again for the same item.
    expect(map.ItemProcessor.States.ShardPaused.Choices[0]).toMatchObject({ Next: 'WriteShard' });
    expect(map.Catch[0]).toMatchObject({ Next: 'RecordFailure' });
    expect(map.Next).toBe('FinishRun');
    expect(states.SmallOrSharded.Choices[0]).toMatchObject({ Next: 'RunSingleMaterializer' });
    expect(states.RunSingleMaterializer.Parameters).toMatchObject({ InvocationType: 'Event' });
    expect(states.UnloadDone.Choices[0]).toMatchObject({ Next: 'WriteShards' });
    expect(states.FinishRun.Catch[0]).toMatchObject({ Next: 'RecordFailure' });
    expect(states.StartRun.Catch[0]).toMatchObject({ ErrorEquals: ['MaterializationBusyError'] });
  });

  it('fails a shard at once on an error no retry mends: a stale or invalid item, a lost lease, damaged UNLOAD output, checkpoint, commit record or tile item, a tile base query past Athena’s size', () => {
    const write = definitionOf(synth.template).States.WriteShards.ItemProcessor.States.WriteShard;
    const retries = write.Retry as { ErrorEquals: string[]; MaxAttempts: number }[];
    const never = retries.findIndex((r) => r.MaxAttempts === 0);
    expect(retries[never]?.ErrorEquals).toEqual([
      'InvalidShardEventError',
      'StaleShardError',
      'LeaseLostError',
      'UnloadedShardError',
      'ShardCheckpointError',
      'ShardTileBasesError',
      'MaterializationError',
      'AthenaQueryTooLongError',
      'DamagedCommitRecordError',
      'DamagedTileItemError',
    ]);
    // Step Functions takes the first retrier that matches: before States.ALL's three attempts.
    expect(never).toBeLessThan(retries.findIndex((r) => r.ErrorEquals.includes('States.ALL')));
  });

  it('polls the UNLOAD with the run’s reference, so each poll extends the run’s lease', () => {
    const poll = definitionOf(synth.template).States.PollUnload;
    expect(JSON.stringify(poll)).toContain('"owner.$":"$.run.owner"');
    expect(JSON.stringify(poll)).toContain('"runId.$":"$.run.runId"');
    expect(JSON.stringify(poll)).toContain('"view.$":"$.run.view"');
  });

  it('schedules only the sharded view through the state machine; the others still invoke the function', () => {
    const { template } = synth;
    const schedules = template.findResources('AWS::Scheduler::Schedule');
    const target = (name: string) =>
      JSON.stringify(
        Object.values(schedules).find((s) => s.Properties.Name === name)?.Properties.Target.Arn,
      );
    expect(target('fstore-prod-customer_profile')).toContain('ShardedStateMachine');
    expect(target('fstore-prod-customer_contract')).toContain('Materializer');
  });

  it('lets the shard writer read only the UNLOAD folder and write only quarantined rows in the bucket', () => {
    const statements = policiesOf(synth.template, 'ShardWriterRole');
    const s3 = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(JSON.stringify(s3)).not.toContain('offline/');
    expect(s3.flatMap((s) => s.Action).sort()).toEqual([
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    expect(JSON.stringify(s3)).toContain('/materialize-unload/*');
    expect(JSON.stringify(s3)).toContain('"s3:prefix":["materialize-unload/*"]');
    // No sharded view is tile-fed: no Athena for the writer.
    expect(JSON.stringify(statements)).not.toMatch(/athena:|glue:/);
    const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(dynamo.flatMap((s) => s.Action).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
  });

  it('expires the UNLOAD output after the stage’s days, and lets the controller list it (what the UNLOAD wrote) but not read it', () => {
    const rules = Object.values(synth.template.findResources('AWS::S3::Bucket')).flatMap(
      (bucket) =>
        (bucket.Properties?.LifecycleConfiguration?.Rules ?? []) as Record<string, unknown>[],
    );
    expect(rules).toContainEqual({
      Id: 'expire-materialize-unload',
      Prefix: 'materialize-unload/',
      ExpirationInDays: 3,
      Status: 'Enabled',
    });
    const list = policiesOf(synth.template, 'RunControllerRole').filter((s) =>
      JSON.stringify(s.Action).includes('s3:ListBucket'),
    );
    expect(JSON.stringify(list)).toContain('"materialize-unload/*"');
    const reads = policiesOf(synth.template, 'RunControllerRole').filter((s) =>
      JSON.stringify(s.Action).includes('s3:GetObject'),
    );
    expect(JSON.stringify(reads)).toContain('/offline/_ingests/*');
    expect(JSON.stringify(reads)).not.toContain('materialize-unload');
    // No sharded view is tile-fed: no records summary to keep.
    expect(JSON.stringify(policiesOf(synth.template, 'RunControllerRole'))).not.toContain(
      'tile-base-records',
    );
  });

  it('pre-warms the online table to the stage’s write units per second', () => {
    synth.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'fstore-prod-online',
      BillingMode: 'PAY_PER_REQUEST',
      WarmThroughput: { WriteUnitsPerSecond: 30_000 },
    });
  });

  it('has no state machine, functions or alarms for it when no view is sharded (the default), no warm throughput, and still expires UNLOAD output (7 days)', async () => {
    const { template } = await synthStage('dev');
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('materialize-shard');
    expect(JSON.stringify(template.findResources('AWS::DynamoDB::GlobalTable'))).not.toContain(
      'WarmThroughput',
    );
    expect(JSON.stringify(template.findResources('AWS::S3::Bucket'))).toContain(
      '{"ExpirationInDays":7,"Id":"expire-materialize-unload","Prefix":"materialize-unload/","Status":"Enabled"}',
    );
  }, 600_000);

  it('refuses a sharded view that is not a scheduled online view, naming it', async () => {
    const stage = resolveStageConfig('dev', {
      materialization: { sharding: { views: ['customer_profiel'] } },
    });
    await expect(synthStage(stage)).rejects.toThrow(
      'materialization.sharding.views names "customer_profiel", which is not a scheduled online feature view',
    );
  }, 600_000);

  describe('with a tile-fed sharded view', () => {
    let tileFed: { stack: Stack; template: Template; violations: unknown[] };
    beforeAll(async () => {
      const registry = await editedExampleRegistry([
        {
          file: 'views.ts',
          from: "  schedule: 'rate(1 hour)',\n  description: 'Order counts",
          to: "  schedule: 'rate(1 hour)',\n  onlineTiles: true,\n  description: 'Order counts",
        },
      ]);
      const stage = resolveStageConfig('prod', {
        materialization: { sharding: { views: ['order_stats'] } },
      });
      const app = newApp();
      const { stack } = buildApp({ app, stage, registry });
      const { assembly, violations } = synthWithViolations(app);
      expect(assembly).toBeDefined();
      tileFed = { stack, template: Template.fromStack(stack), violations };
    }, 600_000);

    it('lets the shard writer query Athena (the single materializer’s grant) only when a sharded view is tile-fed, and read the records summary without writing it, cdk-nag clean', () => {
      const { stack, template, violations } = tileFed;
      expect(violations).toEqual([]);
      expect(falseAcknowledgements(stack, template)).toEqual([]);
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 'fstore-prod-materialize-shard',
        Environment: {
          Variables: Match.objectLike({
            ATHENA_WORKGROUP: Match.anyValue(),
            ATHENA_DATABASE: Match.anyValue(),
          }),
        },
      });
      const writer = JSON.stringify(policiesOf(template, 'ShardWriterRole'));
      const materializer = JSON.stringify(policiesOf(template, 'MaterializerServiceRole'));
      for (const action of [
        'athena:StartQueryExecution',
        'athena:GetQueryResults',
        'glue:GetTable',
      ])
        expect(writer).toContain(action);
      expect(materializer).toContain('athena:StartQueryExecution');
      // The commit records' summary: read only (the run's records step brings it up to date).
      const summary = policiesOf(template, 'ShardWriterRole').filter((statement) =>
        JSON.stringify(statement.Resource).includes('/tile-base-records/*'),
      );
      expect(summary.flatMap((statement) => statement.Action)).toEqual(['s3:GetObject']);
      expect(JSON.stringify(policiesOf(template, 'ShardWriterRole'))).toContain(
        '"s3:prefix":["tile-base-records/*"]',
      );
    });

    it('brings the records summary up to date in a loop of controller steps before the start, without a run, so the start step’s ingest coverage reads the summary', () => {
      const states = definitionOf(tileFed.template).States;
      expect(states.Defaults.Next).toBe('RecordsSummaryBeforeStart');
      expect(states.RecordsSummaryBeforeStart).toMatchObject({
        Type: 'Task',
        Parameters: { action: 'records', 'view.$': '$.args.view' },
        ResultPath: '$.recordsBeforeStart',
        Next: 'RecordsSummaryReadyForStart',
      });
      // No lease is held yet: a failure has no run to record, the execution just fails.
      expect(states.RecordsSummaryBeforeStart.Catch).toBeUndefined();
      expect(JSON.stringify(states.RecordsSummaryBeforeStart.Resource)).not.toContain(':*');
      expect(states.RecordsSummaryReadyForStart).toMatchObject({
        Choices: [
          {
            Variable: '$.recordsBeforeStart.done',
            BooleanEquals: false,
            Next: 'RecordsSummaryBeforeStart',
          },
        ],
        Default: 'StartRun',
      });
      expect(states.StartRun.Next).toBe('SmallOrSharded');
    });

    it('brings the records summary up to date in a loop of controller steps before the map, while the UNLOAD runs, the controller writing only the summary folder', () => {
      const states = definitionOf(tileFed.template).States;
      expect(states.SmallOrSharded.Choices[1]).toMatchObject({
        And: [
          { Variable: '$.run.tiles', IsPresent: true },
          { Variable: '$.run.tiles', BooleanEquals: true },
        ],
        Next: 'UpdateRecordsSummary',
      });
      expect(states.UpdateRecordsSummary).toMatchObject({
        Type: 'Task',
        Parameters: {
          action: 'records',
          'view.$': '$.run.view',
          'runId.$': '$.run.runId',
          'owner.$': '$.run.owner',
        },
        ResultPath: '$.records',
        Next: 'RecordsSummaryUpToDate',
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'RecordFailure' }],
      });
      expect(JSON.stringify(states.UpdateRecordsSummary.Resource)).not.toContain(':*');
      expect(states.RecordsSummaryUpToDate).toMatchObject({
        Choices: [
          { Variable: '$.records.done', BooleanEquals: false, Next: 'UpdateRecordsSummary' },
        ],
        Default: 'UnloadOrShards',
      });
      expect(states.UnloadOrShards).toMatchObject({
        Choices: [{ Variable: '$.run.unload', BooleanEquals: true, Next: 'WaitForUnload' }],
        Default: 'WriteShards',
      });
      const controller = policiesOf(tileFed.template, 'RunControllerRole');
      const onSummary = controller.filter((statement) =>
        JSON.stringify(statement.Resource).includes('tile-base-records'),
      );
      expect(onSummary.flatMap((statement) => statement.Action).sort()).toEqual([
        's3:GetObject',
        's3:PutObject',
      ]);
      // Its only writes: the summary and Athena's (UNLOAD folder, results).
      const puts = controller.filter((statement) =>
        JSON.stringify(statement.Action).includes('s3:PutObject'),
      );
      expect(JSON.stringify(puts)).not.toMatch(/offline\/|quarantine/);
    });
  });
});
