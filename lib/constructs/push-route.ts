import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { defaultPushLimits } from '../push/push-limits.ts';
import type { Registry } from '../registry/index.ts';
import { pushRegistryProjection } from '../registry/runtime-projection.ts';
import { projectFiles, registryBundling, retention } from './function-defaults.ts';
import { functionRole } from './function-role.ts';

export interface PushRouteProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  /** The HTTP API the route is added to; its default authorizer (IAM, or the stage's JWT) applies. */
  readonly api: apigw.HttpApi;
  /** The online table the rows are written to. */
  readonly table: dynamodb.ITableV2;
  /** Active X-Ray tracing on the function. Default false. */
  readonly tracing?: boolean;
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
 * The function's timeout stays under API Gateway's 30 s integration limit.
 */
export class PushRoute extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly route: apigw.HttpRoute;

  constructor(scope: Construct, id: string, props: PushRouteProps) {
    super(scope, id);
    const { stage } = props;
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy: stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: pushEntry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(28),
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
      },
      bundling: registryBundling(pushRegistryProjection(props.registry)),
      ...projectFiles,
    });
    props.table.grant(this.function, 'dynamodb:PutItem');
    this.route = new apigw.HttpRoute(this, 'Route', {
      httpApi: props.api,
      routeKey: apigw.HttpRouteKey.with(pushRoutePath, apigw.HttpMethod.POST),
      integration: new HttpLambdaIntegration('PushIntegration', this.function),
    });
  }
}
