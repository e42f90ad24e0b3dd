/**
 * The prices and quotas the scale model uses: us-east-1 list prices, on-demand, no free tier,
 * as published on the services' pricing and quota pages (checked 2026-12). Everything here is a
 * default a caller may replace (`scripts/scale-model.ts --price-...`), not a promise.
 */
export interface AwsPrices {
  /** DynamoDB on-demand, per write request unit (an item write of up to 1 KB). */
  readonly dynamoWriteUnit: number;
  /** DynamoDB on-demand, per read request unit (a strongly consistent read of up to 4 KB). */
  readonly dynamoReadUnit: number;
  /** Lambda on Arm (Graviton), per GB-second of billed duration. */
  readonly lambdaArmGbSecond: number;
  readonly lambdaRequest: number;
  /** Athena, per byte scanned (5 USD per TB); each query bills at least 10 MB. */
  readonly athenaScannedByte: number;
  readonly athenaMinimumBytes: number;
  /** Step Functions standard workflows, per state transition. */
  readonly stepFunctionsTransition: number;
  /** API Gateway HTTP API, per request (first 300 million a month). */
  readonly httpApiRequest: number;
  readonly s3Put: number;
  readonly s3Get: number;
}

export const usEast1Prices: AwsPrices = {
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  athenaScannedByte: 5 / 1024 ** 4,
  athenaMinimumBytes: 10 * 1024 ** 2,
  stepFunctionsTransition: 0.025 / 1000,
  httpApiRequest: 1 / 1e6,
  s3Put: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
};

/** DynamoDB's write limits that bound a materialization (the developer guide's quota pages). */
export interface DynamoWriteLimits {
  /** Write units a second the table serves at once: 4,000 for a new on-demand table. */
  readonly warmWriteUnits: number;
  /** On-demand tables serve up to twice their previous peak; a new peak takes this long. */
  readonly doublingSeconds: number;
  /** The table-level throughput quota: 40,000 write units a second by default (adjustable). */
  readonly tableQuotaWriteUnits: number;
}

export const newOnDemandTable: DynamoWriteLimits = {
  warmWriteUnits: 4000,
  doublingSeconds: 1800,
  tableQuotaWriteUnits: 40_000,
};
