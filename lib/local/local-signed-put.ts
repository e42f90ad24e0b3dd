import type { PutItem } from '../online/dynamodb-batch-get/signed-put-item.ts';
import { signedPutItem } from '../online/dynamodb-batch-get/signed-put-item.ts';

/**
 * The signed PutItem client of a local DynamoDB-API server (dummy credentials, as
 * localDynamoClient's), for the push route: its per-put cost is well below the SDK client's
 * (issue 17 §4). Undefined when it cannot be built (an endpoint that is not loopback http(s)),
 * then the push writes through the SDK client as before; `onFallback` is told why.
 */
export function localSignedPut(
  endpoint: string,
  onFallback: (reason: string) => void = () => {},
): PutItem | undefined {
  try {
    return signedPutItem({
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      endpoint,
    });
  } catch (error) {
    onFallback((error as Error).message);
    return undefined;
  }
}
