import type { PutItemInput } from '@aws-sdk/client-dynamodb';
import { isObject } from '../../is-object.ts';
import { bytesAsBase64 } from './binary-attributes.ts';
import type { Deadline } from './deadline.ts';
import {
  malformedAnswer,
  type SignedClientOptions,
  signedDynamoDbCall,
} from './signed-dynamodb-call.ts';

/**
 * One DynamoDB PutItem: what the push's conditional writes need of a client. A failed
 * ConditionExpression rejects with a DynamoDbRequestError of type
 * `ConditionalCheckFailedException` (not retried); throttling, 5xx, resets and timeouts are
 * retried inside the call. The answer (no ReturnValues) carries nothing the writer reads.
 */
export type PutItem = (
  input: PutItemInput,
  call?: { readonly deadline?: Deadline },
) => Promise<void>;

/**
 * PutItem over the signed keep-alive client of the lookup's BatchGetItem (signedDynamoDbCall):
 * the push's hot path, where the SDK's middleware stack cost more than DynamoDB's own answer on
 * a loopback store (issue 17 §4).
 */
export function signedPutItem(options: SignedClientOptions): PutItem {
  const call = signedDynamoDbCall(options);
  return (input, { deadline } = {}) =>
    call('PutItem', JSON.stringify(input, bytesAsBase64), checkPutItemAnswer, deadline);
}

function checkPutItemAnswer(text: string): void {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw malformedAnswer('PutItem', `not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (!isObject(document)) throw malformedAnswer('PutItem', 'not a JSON object');
}
