import type { BatchGetItems } from './batch-get-items.ts';
import { type SignedBatchGetOptions, signedBatchGet } from './signed-batch-get.ts';
import type { SignedClientOptions } from './signed-dynamodb-call.ts';
import { type PutItem, signedPutItem } from './signed-put-item.ts';

type Tuning = Omit<SignedBatchGetOptions, 'region' | 'credentials' | 'endpoint'>;

/**
 * The signed BatchGetItem client configured as the Lambda runtime configures a function: region
 * and credentials from AWS_REGION and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN (Lambda always sets them), and the endpoint from AWS_ENDPOINT_URL_DYNAMODB or
 * AWS_ENDPOINT_URL when set (a local DynamoDB-API server), as the AWS SDK reads them. No other
 * credential source is read: a missing variable fails the cold start, naming it.
 */
export function batchGetFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  tuning: Tuning = {},
): BatchGetItems {
  return signedBatchGet({ ...tuning, ...signedClientEnvironment(env, 'online-lookup') });
}

/** The signed PutItem client of the push function, configured as batchGetFromEnvironment's. */
export function putItemFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  tuning: Tuning = {},
): PutItem {
  return signedPutItem({ ...tuning, ...signedClientEnvironment(env, 'push') });
}

/** Region, credentials and endpoint override of a signed client, from the environment. */
function signedClientEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  user: string,
): Pick<SignedClientOptions, 'region' | 'credentials' | 'endpoint'> {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  const missing = [
    ...(region ? [] : ['AWS_REGION']),
    ...['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter((name) => !env[name]),
  ];
  if (!region || missing.length > 0)
    throw new Error(
      `${user} DynamoDB client: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set; the Lambda runtime sets them, elsewhere set them (the client reads credentials from the environment only)`,
    );
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL;
  return {
    region,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID as string,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    },
    ...(endpoint ? { endpoint } : {}),
  };
}
