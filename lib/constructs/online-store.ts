import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { itemAttributes } from '../online/item-codec.ts';
import { onlineTableName } from '../online/online-table.ts';

export interface OnlineStoreProps {
  readonly stage: StageConfig;
}

/** The stage's pre-warming of the table for large sharded backfills (docs/scale.md), if any. */
function warmThroughput(stage: StageConfig): Pick<dynamodb.TablePropsV2, 'warmThroughput'> {
  const write = stage.materialization.sharding.warmWriteUnitsPerSecond;
  return write === undefined ? {} : { warmThroughput: { writeUnitsPerSecond: write } };
}

/**
 * The online table of one environment: key `pk` (view version + entity key, see
 * docs/adr/0005-online-store-layout.md), on-demand capacity, point-in-time recovery,
 * encryption at rest, TTL on `expires_at`, warm throughput when the stage sets
 * `materialization.sharding.warmWriteUnitsPerSecond`. Production stages retain it and protect it
 * against deletion.
 */
export class OnlineStore extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: OnlineStoreProps) {
    super(scope, id);
    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: onlineTableName(props.stage.name),
      partitionKey: { name: itemAttributes.key, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      ...warmThroughput(props.stage),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: itemAttributes.expiresAt,
      deletionProtection: props.stage.deletionProtection,
      removalPolicy: props.stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }
}
