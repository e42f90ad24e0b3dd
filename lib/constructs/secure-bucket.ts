import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface SecureBucketProps {
  /**
   * Keep the bucket and its objects when the stack is deleted; when false, deleting the stack
   * empties (every object version) and deletes the bucket.
   */
  readonly retain: boolean;
  /** Bucket receiving server access logs; omit only for the access-log bucket itself. */
  readonly accessLogs?: { readonly bucket: s3.IBucket; readonly prefix: string };
  /** Expire noncurrent object versions after this many days. Default 90. */
  readonly noncurrentVersionExpirationDays?: number;
  readonly lifecycleRules?: s3.LifecycleRule[];
}

/**
 * An S3 bucket with fstore's defaults: S3-managed encryption, versioning, all public access
 * blocked, TLS-only bucket policy, bucket-owner object ownership, and access logging. A bucket
 * that is not retained is emptied by CDK's auto-delete custom resource when the stack goes.
 */
export class SecureBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !props.retain,
      ...(props.accessLogs
        ? {
            serverAccessLogsBucket: props.accessLogs.bucket,
            serverAccessLogsPrefix: props.accessLogs.prefix,
          }
        : {}),
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionExpirationDays ?? 90),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        ...(props.lifecycleRules ?? []),
      ],
    });
  }
}
