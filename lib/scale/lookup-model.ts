import type { AwsPrices } from './aws-prices.ts';

export interface LookupSetup {
  /** Items one lookup reads (one per view of the service). */
  readonly itemsPerLookup: number;
  readonly itemBytes: number;
  /** Billed duration of the lookup Lambda per request (1 ms granularity). */
  readonly billedMilliseconds: number;
  readonly memoryGb: number;
}

export interface LookupCost {
  readonly apiGateway: number;
  readonly lambda: number;
  readonly dynamodb: number;
  readonly total: number;
}

/**
 * List price of `lookups` requests to the lookup API: the HTTP API, the Lambda (duration and
 * requests) and DynamoDB's eventually consistent BatchGetItem reads (half a read unit per 4 KB
 * of each item). Caching in the Lambda would lower the DynamoDB part; it is not counted.
 */
export function estimateLookups(
  lookups: number,
  setup: LookupSetup,
  prices: AwsPrices,
): LookupCost {
  const readUnitsPerItem = Math.max(1, Math.ceil(setup.itemBytes / 4096)) * 0.5;
  const cost = {
    apiGateway: lookups * prices.httpApiRequest,
    lambda:
      lookups *
      ((setup.billedMilliseconds / 1000) * setup.memoryGb * prices.lambdaArmGbSecond +
        prices.lambdaRequest),
    dynamodb: lookups * setup.itemsPerLookup * readUnitsPerItem * prices.dynamoReadUnit,
  };
  return { ...cost, total: cost.apiGateway + cost.lambda + cost.dynamodb };
}
