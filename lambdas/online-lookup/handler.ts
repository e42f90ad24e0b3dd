import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { type ApiDependencies, handleRequest } from '../../lib/api/handle-request.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { type LookupConfig, readLookupConfig } from './config.ts';

/** The parts of an API Gateway HTTP API (payload v2) event the handler reads. */
export interface HttpApiEvent {
  readonly rawPath: string;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: { readonly http: { readonly method: string } };
}

export interface LookupHandlerDependencies {
  readonly registry: Registry;
  readonly client: DynamoDBClient;
  readonly config: LookupConfig;
}

/** The lookup Lambda: a thin middy handler around handleRequest, with its clients passed in. */
export function createLookupHandler(deps: LookupHandlerDependencies) {
  const api: ApiDependencies = {
    registry: deps.registry,
    limits: { maxEntities: deps.config.maxEntities, maxBodyBytes: deps.config.maxBodyBytes },
    lookup: (request) => lookupFeatures(deps.client, deps.config.tableName, deps.registry, request),
    health: async () => true,
    onUnexpectedError: (error) =>
      console.error(
        JSON.stringify({
          level: 'error',
          message: 'unexpected error',
          error: String(error),
          stack: (error as Error).stack,
        }),
      ),
  };
  return middy<HttpApiEvent>().handler(async (event) =>
    handleRequest(
      {
        method: event.requestContext.http.method,
        path: event.rawPath,
        body:
          event.body === undefined
            ? null
            : event.isBase64Encoded
              ? Buffer.from(event.body, 'base64').toString('utf8')
              : event.body,
      },
      api,
    ),
  );
}

export { readLookupConfig };
