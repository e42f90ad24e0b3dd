import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { itemAttributes } from '../online/item-codec.ts';
import { onlineTableName } from '../online/online-table.ts';

export interface OnlineStoreProps {
  readonly stage: StageConfig;
}

/**
 * The online table of one environment: key `pk` (view version + entity key, see
 * docs/adr/0005-online-store-layout.md), on-demand capacity, point-in-time recovery,
 * encryption at rest, TTL on `expires_at`. Production stages retain it and protect it
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
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: itemAttributes.expiresAt,
      deletionProtection: props.stage.deletionProtection,
      removalPolicy: props.stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }
}
