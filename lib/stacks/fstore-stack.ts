import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { AuditKeySecret } from '../constructs/audit-key-secret.ts';
import { CompactionRole } from '../constructs/compaction-role.ts';
import { ErasureOperatorPolicy } from '../constructs/erasure-operator-policy.ts';
import { Materialization } from '../constructs/materialization.ts';
import { Monitoring } from '../constructs/monitoring.ts';
import { OfflineStore } from '../constructs/offline-store.ts';
import { OnlineStore } from '../constructs/online-store.ts';
import { PushCompaction } from '../constructs/push-compaction.ts';
import { PushDeliveryStreams } from '../constructs/push-delivery-streams.ts';
import { RegistryRecord } from '../constructs/registry-record.ts';
import { ScheduledRetention } from '../constructs/scheduled-retention.ts';
import { SecureBucket } from '../constructs/secure-bucket.ts';
import { ServingApi } from '../constructs/serving-api.ts';
import { type StreamIngest, streamIngests } from '../constructs/stream-ingest.ts';
import type { Registry } from '../registry/index.ts';
import { offlineRetentions } from './offline-retentions.ts';
import { checkOutputCount, stackOutputNames } from './stack-outputs.ts';

export interface FstoreStackProps extends StackProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
}

/**
 * All of one environment's feature store: access-log and artifacts buckets, the offline store
 * (bucket, Glue tables, Athena workgroup), the online table, the lookup API and the scheduled
 * materialization from one to the other, with alarms and a dashboard.
 */
export class FstoreStack extends Stack {
  readonly accessLogsBucket: SecureBucket;
  readonly artifactsBucket: SecureBucket;
  readonly offlineStore: OfflineStore;
  readonly onlineStore: OnlineStore;
  readonly servingApi: ServingApi;
  /** The push function's offline sink: a Firehose stream per source (ADR 0016). */
  readonly pushStreams: PushDeliveryStreams;
  readonly materialization: Materialization;
  readonly monitoring: Monitoring;
  /** Each source's declared Kinesis stream into the online store, by source name. */
  readonly streamIngests: ReadonlyMap<string, StreamIngest>;
  /** Assumed to run `fstore compact --env <env>`: exactly `fstore iam-policy --for compact`. */
  readonly compactionRole: CompactionRole;
  /** The scheduled compaction of pushed rows; absent when `compaction.schedule` is false. */
  readonly pushCompaction?: PushCompaction;
  /** The daily retention of the offline store; absent when no source has a retention. */
  readonly scheduledRetention?: ScheduledRetention;
  /** The key of the erasure audit's key hashes (output AuditKeySecretArn). */
  readonly auditKey: AuditKeySecret;
  /** What `fstore delete --env <env>` needs, for operators to attach (output ErasureOperatorPolicyArn). */
  readonly erasureOperatorPolicy: ErasureOperatorPolicy;

  constructor(scope: Construct, id: string, props: FstoreStackProps) {
    super(scope, id, { ...props, terminationProtection: props.stage.deletionProtection });
    const { stage, registry } = props;

    this.accessLogsBucket = new SecureBucket(this, 'AccessLogs', {
      retain: stage.retainData,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(stage.logRetentionDays) },
      ],
    });

    this.artifactsBucket = new SecureBucket(this, 'Artifacts', {
      retain: stage.retainData,
      accessLogs: { bucket: this.accessLogsBucket.bucket, prefix: 'artifacts/' },
    });
    new RegistryRecord(this, 'RegistryRecord', {
      stage,
      registry,
      bucket: this.artifactsBucket.bucket,
    });

    this.auditKey = new AuditKeySecret(this, 'AuditKey', { stage });

    this.offlineStore = new OfflineStore(this, 'OfflineStore', {
      stage,
      registry,
      accessLogsBucket: this.accessLogsBucket.bucket,
    });
    this.compactionRole = new CompactionRole(this, 'CompactionRole', {
      offlineStore: this.offlineStore,
      trustedPrincipalArns: stage.compaction.principalArns,
    });
    this.onlineStore = new OnlineStore(this, 'OnlineStore', { stage });
    this.erasureOperatorPolicy = new ErasureOperatorPolicy(this, 'ErasureOperator', {
      stage,
      registry,
      offlineStore: this.offlineStore,
      table: this.onlineStore.table,
      auditSecret: this.auditKey.secret,
      artifactsBucket: this.artifactsBucket.bucket,
    });
    this.servingApi = new ServingApi(this, 'ServingApi', {
      stage,
      registry,
      table: this.onlineStore.table,
    });
    this.pushStreams = new PushDeliveryStreams(this, 'PushStreams', {
      stage,
      registry,
      bucket: this.offlineStore.bucket,
      database: this.offlineStore.database,
      databaseName: this.offlineStore.databaseName,
    });
    this.pushStreams.connect(this.servingApi.push.function);
    this.materialization = new Materialization(this, 'Materialization', {
      stage,
      registry,
      table: this.onlineStore.table,
      offlineStore: this.offlineStore,
    });
    if (stage.compaction.schedule !== false)
      this.pushCompaction = new PushCompaction(this, 'PushCompaction', {
        stage,
        registry,
        offlineStore: this.offlineStore,
        schedule: stage.compaction.schedule,
      });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stage,
      registry,
      lookupFunction: this.servingApi.function,
      deadLetterQueue: this.materialization.deadLetterQueue,
      ...(this.materialization.sharded
        ? { shardedRuns: this.materialization.sharded.stateMachine }
        : {}),
      pushFunction: this.servingApi.push.function,
      ...(this.pushCompaction ? { pushCompaction: this.pushCompaction } : {}),
    });
    this.streamIngests = streamIngests(this, {
      stage,
      registry,
      table: this.onlineStore.table,
      quarantineBucket: this.offlineStore.bucket,
      pushStreams: this.pushStreams,
      alarmTopic: this.monitoring.topic,
    });
    const retentions = offlineRetentions(registry, stage);
    if (Object.keys(retentions).length > 0)
      this.scheduledRetention = new ScheduledRetention(this, 'Retention', {
        stage,
        bucket: this.offlineStore.bucket,
        retentions,
        prefixes: Object.fromEntries(registry.sources.map((s) => [s.name, s.offline.s3Prefix])),
        timestampFields: Object.fromEntries(
          registry.sources.map((s) => [s.name, s.timestampField]),
        ),
        alarmTopic: this.monitoring.topic,
      });

    new CfnOutput(this, 'RegistryVersion', {
      value: registry.version,
      description: 'Version of the compiled feature registry in this deployment',
    });
    new CfnOutput(this, 'FeatureViews', {
      value: registry.featureViews.map((v) => `${v.name}@${v.version}`).join(',') || 'none',
    });
    new CfnOutput(this, 'RegistryCounts', {
      value: registryCounts(registry),
      description: 'Number of definitions of each kind in the compiled registry',
    });
    new CfnOutput(this, 'ArtifactsBucketName', { value: this.artifactsBucket.bucket.bucketName });
    // Stable names (no construct-path hash) for jobs and roles outside this app.
    new CfnOutput(this, stackOutputNames.lookupApiUrl, {
      value: this.servingApi.api.apiEndpoint,
      description: 'Base URL of the lookup API (IAM-signed requests)',
    }).overrideLogicalId(stackOutputNames.lookupApiUrl);
    new CfnOutput(this, stackOutputNames.lookupApiId, {
      value: this.servingApi.api.apiId,
      description: 'Id of the lookup API: execute-api ARNs name it',
    }).overrideLogicalId(stackOutputNames.lookupApiId);
    new CfnOutput(this, stackOutputNames.compactionRoleArn, {
      value: this.compactionRole.role.roleArn,
      description:
        'Role to assume for fstore compact --env <env> (the grants of fstore iam-policy --for compact)',
    }).overrideLogicalId(stackOutputNames.compactionRoleArn);
    new CfnOutput(this, stackOutputNames.auditKeySecretArn, {
      value: this.auditKey.secret.secretArn,
      description: 'Secret keying the erasure audit’s key hashes (fstore delete, export, import)',
    }).overrideLogicalId(stackOutputNames.auditKeySecretArn);
    new CfnOutput(this, stackOutputNames.erasureOperatorPolicyArn, {
      value: this.erasureOperatorPolicy.policy.managedPolicyArn,
      description:
        'Managed policy to attach to whoever runs fstore delete --env <env> (right to erasure)',
    }).overrideLogicalId(stackOutputNames.erasureOperatorPolicyArn);
    checkOutputCount(this);
  }
}

/** `entities=2 sources=2 featureViews=3 featureServices=1` */
export function registryCounts(registry: Registry): string {
  const { entities, sources, featureViews, featureServices } = registry;
  return Object.entries({ entities, sources, featureViews, featureServices })
    .map(([kind, items]) => `${kind}=${items.length}`)
    .join(' ');
}
