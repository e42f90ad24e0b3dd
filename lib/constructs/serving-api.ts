import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config.ts';
import { lookupStatements } from '../iam/lookup-policy.ts';
import type { PolicyStatement } from '../iam/policy-statement.ts';
import { pushStatements } from '../iam/push-policy.ts';
import { transformFiles } from '../on-demand/transform-catalog.ts';
import type { Registry } from '../registry/index.ts';
import { lookupRegistryProjection } from '../registry/runtime-projection.ts';
import { projectFiles, registryBundling, retention } from './function-defaults.ts';
import { functionRole } from './function-role.ts';
import { PushRoute } from './push-route.ts';

export interface ServingApiProps {
  readonly stage: StageConfig;
  readonly registry: Registry;
  readonly table: dynamodb.ITableV2;
  /** Active X-Ray tracing on the function. Default false. */
  readonly tracing?: boolean;
}

const lookupEntry = fileURLToPath(new URL('../../lambdas/online-lookup/index.ts', import.meta.url));
const routes: readonly { path: string; method: apigw.HttpMethod }[] = [
  { path: '/v1/features/{service}', method: apigw.HttpMethod.POST },
  { path: '/v1/feature-views/{view}', method: apigw.HttpMethod.POST },
  { path: '/v1/registry', method: apigw.HttpMethod.GET },
  { path: '/v1/health', method: apigw.HttpMethod.GET },
  { path: '/v1/openapi.json', method: apigw.HttpMethod.GET },
];

/**
 * The HTTPS lookup API: an HTTP API whose every route needs IAM (SigV4) authorization by
 * default (JWT as a stage option: the push route then needs one of `api.jwtPushScopes`, the
 * other routes one of `api.jwtLookupScopes` when set), stage throttling and JSON access logs,
 * in front of the online-lookup Lambda (arm64, Node.js 24, minified bundle with the lookup's
 * projection of the registry compiled in, so an edit of a description or a schedule leaves its
 * code alone, read-only access to the online table, reserved concurrency when the stage sets
 * one). Its log groups are retained with the stack in stages that retain data.
 * `POST /v1/push/{source}` is its own route to its own function (PushRoute), granted apart
 * (`grantPush`).
 */
export class ServingApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly function: nodejs.NodejsFunction;
  readonly push: PushRoute;

  constructor(scope: Construct, id: string, props: ServingApiProps) {
    super(scope, id);
    const { stage } = props;
    const removalPolicy = stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const functionLogs = new logs.LogGroup(this, 'FunctionLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy,
    });
    this.function = new nodejs.NodejsFunction(this, 'Lookup', {
      entry: lookupEntry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(10),
      ...(stage.api.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: stage.api.reservedConcurrency }),
      role: functionRole(this, 'LookupServiceRole', {
        logGroup: functionLogs,
        description: `Execution role of the fstore ${stage.name} lookup function`,
      }),
      logGroup: functionLogs,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      environment: {
        TABLE_NAME: props.table.tableName,
        MAX_ENTITIES: String(stage.api.maxEntitiesPerRequest),
        // No --enable-source-maps: parsing the map costs every cold start (bench:online); the
        // bundle's map still decodes a logged stack offline.
      },
      bundling: lookupBundling(props.registry),
      ...projectFiles,
    });
    props.table.grant(
      this.function,
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:DescribeTable',
    );

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: retention(stage.logRetentionDays),
      removalPolicy,
    });
    const authorizer =
      stage.api.authorization === 'jwt'
        ? new HttpJwtAuthorizer('Jwt', stage.api.jwtIssuer ?? '', {
            jwtAudience: [...(stage.api.jwtAudience ?? [])],
          })
        : new HttpIamAuthorizer();
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: `fstore-${stage.name}`,
      description: `fstore lookup API, environment ${stage.name}`,
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
    });
    new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: stage.api.throttleRateLimit,
        burstLimit: stage.api.throttleBurstLimit,
      },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.jsonWithStandardFields(),
      },
    });
    const integration = new HttpLambdaIntegration('LookupIntegration', this.function);
    // Under JWT, tokens without a lookup scope are refused here when the stage names any.
    const lookupScopes =
      stage.api.authorization === 'jwt' && stage.api.jwtLookupScopes?.length
        ? { authorizationScopes: [...stage.api.jwtLookupScopes] }
        : {};
    for (const route of routes)
      this.api.addRoutes({
        path: route.path,
        methods: [route.method],
        integration,
        ...lookupScopes,
      });
    this.push = new PushRoute(this, 'Push', {
      stage,
      registry: props.registry,
      api: this.api,
      table: props.table,
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.apiEndpoint,
      description: 'Base URL of the lookup API (IAM-signed requests)',
    });
  }

  /**
   * `execute-api:Invoke` on each route of this API (`lookupStatements`, the statements `fstore
   * iam-policy --for lookup` prints for a role outside this app). Each route ARN's wildcards are
   * acknowledged on the grantee for cdk-nag.
   */
  grantInvoke(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    const scope = { partition: stack.partition, region: stack.region, account: stack.account };
    grantRoutes(
      stack,
      grantee,
      lookupStatements(scope, this.api.apiId),
      'A route of the fstore lookup API: * stands for its stage (it has only $default) and for a {service} or {view} path parameter; no other API or route is granted.',
    );
  }

  /**
   * `execute-api:Invoke` on the push route only (`pushStatements`, what `fstore iam-policy
   * --for push` prints): every source, or the sources named. No lookup route is granted.
   */
  grantPush(grantee: iam.IGrantable, sources?: readonly string[]): void {
    const stack = Stack.of(this);
    const scope = { partition: stack.partition, region: stack.region, account: stack.account };
    grantRoutes(
      stack,
      grantee,
      pushStatements(scope, this.api.apiId, sources),
      'The push route of the fstore API: * stands for its stage (it has only $default) and, unless sources are named, for the {source} path parameter; no lookup route is granted.',
    );
  }
}

/**
 * The lookup function's bundling: the lookup's projection of the registry compiled in and, when
 * there are on-demand views, the definitions files exporting them injected, so the lookup runs
 * the very transform the author wrote, not a copy (lib/on-demand/transform-catalog.ts).
 */
export function lookupBundling(registry: Registry): nodejs.BundlingOptions {
  const onDemand = registry.onDemandViews?.map((v) => v.name) ?? [];
  return {
    ...registryBundling(lookupRegistryProjection(registry)),
    ...(onDemand.length > 0 ? { inject: transformFiles(onDemand) } : {}),
  };
}

/** Adds the statements to the grantee and acknowledges each route ARN's wildcards for cdk-nag. */
function grantRoutes(
  stack: Stack,
  grantee: iam.IGrantable,
  statements: readonly PolicyStatement[],
  reason: string,
): void {
  for (const statement of statements)
    iam.Grant.addToPrincipal({
      grantee,
      actions: [...statement.Action],
      resourceArns: [...statement.Resource],
      ...(statement.Condition ? { conditions: statement.Condition } : {}),
    });
  const principal = grantee.grantPrincipal;
  if (!Construct.isConstruct(principal)) return;
  for (const resource of statements.flatMap((s) => s.Resource))
    Validations.of(principal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${asNagFinding(stack, resource)}]`,
      reason,
    });
}

/** A resource as cdk-nag names it in a finding: references as `<LogicalId>`, `<AWS::Region>`. */
function asNagFinding(stack: Stack, value: string): string {
  const resolved: unknown = stack.resolve(value);
  if (typeof resolved === 'string') return resolved;
  const [separator, parts] = (resolved as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const { Ref: ref } = part as { Ref?: string };
      if (ref === undefined) throw new Error(`ServingApi: cannot name ${JSON.stringify(part)}`);
      return `<${ref}>`;
    })
    .join(separator);
}
