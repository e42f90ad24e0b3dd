import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { itemAttributes } from '../online/item-codec.ts';
import {
  defaultIdempotencyExpirySeconds,
  maxIdempotencyExpirySeconds,
  pushIdempotencyTableName,
} from '../push/push-idempotency-table.ts';
import { defaultPushLimits } from '../push/push-limits.ts';
import type { Registry } from '../registry/index.ts';
import { pushRegistryProjection } from '../registry/runtime-projection.ts';
import { projectFiles, registryBundling, retention } from './function-defaults.ts';
import { functionRole } from './function-role.ts';

export interface PushRouteProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  /**
   * The HTTP API the route is added to; its default authorizer (IAM, or the stage's JWT) applies.
   * Under JWT the route also needs one of the stage's `api.jwtPushScopes`, so that a token issued
   * for lookups cannot push.
   */
  readonly api: apigw.HttpApi;
  /** The online table the rows are written to. */
  readonly table: dynamodb.ITableV2;
  /** Active X-Ray tracing on the function. Default false. */
  readonly tracing?: boolean;
  /**
   * How long a push's answer is kept for Idempotency-Key replays. Default one hour, at most one
   * day (offline, ingested pushes are remembered a day; a later retry could land twice).
   */
  readonly idempotencyExpiry?: Duration;
}

const pushEntry = fileURLToPath(new URL('../../lambdas/push/index.ts', import.meta.url));

/** The route's path: its own route, so `execute-api:Invoke` can grant push without lookup. */
export const pushRoutePath = '/v1/push/{source}';

/**
 * `POST /v1/push/{source}` (docs/adr/0015-push.md) on the lookup's HTTP API, in front of the
 * push Lambda (arm64, Node.js 24, the push projection of the registry compiled in). Its role
 * may write its log group and `PutItem` on the online table, nothing else: the writes are
 * conditional puts, the table is encrypted with the AWS-managed key (no KMS grant needed), and
 * the function reads no S3 (offline pushes answer 501 on AWS until the Firehose sink exists).
 * The function's timeout stays under API Gateway's 30 s integration limit. Idempotency-Key
 * records live in a table of their own (`fstore-<env>-push-idempotency`: on-demand, PITR,
 * encrypted, TTL on `expiration`), on which the role may put, get, update and delete items.
 */
export class PushRoute extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly route: apigw.HttpRoute;
  readonly idempotencyTable: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: PushRouteProps) {
    super(scope, id);
    const { stage } = props;
    const expirySeconds = props.idempotencyExpiry?.toSeconds() ?? defaultIdempotencyExpirySeconds;
    if (expirySeconds > maxIdempotencyExpirySeconds)
      throw new Error(
        `PushRoute idempotencyExpiry must be at most one day (${maxIdempotencyExpirySeconds} s), got ${expirySeconds} s: the offline store remembers ingested pushes for a day, so a retry after a longer expiry could land twice`,
      );
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy: stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Powertools' record layout: key `pk` here (keyAttr), expiry epoch seconds in `expiration`.
    this.idempotencyTable = new dynamodb.TableV2(this, 'IdempotencyTable', {
      tableName: pushIdempotencyTableName(stage.name),
      partitionKey: { name: itemAttributes.key, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: 'expiration',
      deletionProtection: stage.deletionProtection,
      removalPolicy: stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const timeout = Duration.seconds(28);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: pushEntry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout,
      role: functionRole(this, 'ServiceRole', {
        logGroup,
        description: `Execution role of the fstore ${stage.name} push function`,
      }),
      logGroup,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      environment: {
        TABLE_NAME: props.table.tableName,
        MAX_ROWS: String(defaultPushLimits.maxRows),
        MAX_BODY_BYTES: String(defaultPushLimits.maxBodyBytes),
        IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
        IDEMPOTENCY_EXPIRY_SECONDS: String(expirySeconds),
        // A push in progress holds its key for at most the function's run.
        IDEMPOTENCY_IN_PROGRESS_MS: String(timeout.toMilliseconds()),
      },
      bundling: registryBundling(pushRegistryProjection(props.registry)),
      ...projectFiles,
    });
    props.table.grant(this.function, 'dynamodb:PutItem');
    this.idempotencyTable.grant(
      this.function,
      'dynamodb:PutItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    this.route = new apigw.HttpRoute(this, 'Route', {
      httpApi: props.api,
      routeKey: apigw.HttpRouteKey.with(pushRoutePath, apigw.HttpMethod.POST),
      integration: new HttpLambdaIntegration('PushIntegration', this.function),
      ...pushAuthorizationScopes(stage),
    });
  }
}

/**
 * The scopes a JWT needs on the push route: the stage's `api.jwtPushScopes` (the stage schema
 * requires them; a config built by hand without them is refused here as well). IAM routes take
 * no scopes.
 */
function pushAuthorizationScopes(stage: StageConfig): { authorizationScopes?: string[] } {
  if (stage.api.authorization !== 'jwt') return {};
  const scopes = stage.api.jwtPushScopes ?? [];
  if (scopes.length === 0)
    throw new Error(
      `stage "${stage.name}": api.jwtPushScopes is empty; a JWT stage must name the scopes a token needs to push (e.g. ["fstore/push"]), or every lookup token could push`,
    );
  return { authorizationScopes: [...scopes] };
}
