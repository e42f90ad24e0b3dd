import { isObject } from '../../is-object.ts';
import type { BatchGetItemOutput, BatchGetItems } from './batch-get-items.ts';
import { bytesAsBase64, decodeBinaryAttributes, mayHoldBinary } from './binary-attributes.ts';
import {
  malformedAnswer,
  type SignedClientOptions,
  signedDynamoDbCall,
} from './signed-dynamodb-call.ts';

export { dynamoDbEndpoint } from './signed-dynamodb-call.ts';

export type SignedBatchGetOptions = SignedClientOptions;

/**
 * BatchGetItem over `node:https` with a keep-alive agent, DynamoDB's JSON protocol and SigV4
 * (aws4), without the AWS SDK: the SDK's DynamoDB client is most of the lookup Lambda's cold
 * start (ADR 0014). Retries, timeouts, answer caps and the deadline are signedDynamoDbCall's.
 * UnprocessedKeys are returned, as the SDK returns them; the lookup retries those.
 */
export function signedBatchGet(options: SignedBatchGetOptions): BatchGetItems {
  const call = signedDynamoDbCall(options);
  return (input, { deadline } = {}) =>
    call('BatchGetItem', JSON.stringify(input, bytesAsBase64), batchGetOutput, deadline);
}

/** The answer's document, checked to be BatchGetItem's shape (items are objects) before use. */
function batchGetOutput(text: string): BatchGetItemOutput {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw malformed(`not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (!isObject(document)) throw malformed('not a JSON object');
  const { Responses, UnprocessedKeys } = document;
  if (Responses !== undefined) {
    if (!isObject(Responses)) throw malformed('Responses is not an object of tables');
    for (const [table, items] of Object.entries(Responses))
      if (!Array.isArray(items) || !items.every(isObject))
        throw malformed(`Responses.${table} is not a list of items`);
  }
  if (UnprocessedKeys !== undefined) {
    if (!isObject(UnprocessedKeys)) throw malformed('UnprocessedKeys is not an object of tables');
    for (const [table, pending] of Object.entries(UnprocessedKeys))
      if (!isObject(pending) || !Array.isArray(pending.Keys) || !pending.Keys.every(isObject))
        throw malformed(`UnprocessedKeys.${table}.Keys is not a list of keys`);
  }
  const output = document as BatchGetItemOutput;
  if (mayHoldBinary(text)) {
    for (const items of Object.values(output.Responses ?? {})) decodeBinaryAttributes(items);
    for (const pending of Object.values(output.UnprocessedKeys ?? {}))
      decodeBinaryAttributes(pending.Keys ?? []);
  }
  return output;
}

const malformed = (what: string) => malformedAnswer('BatchGetItem', what);
