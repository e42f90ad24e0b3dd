import * as z from 'zod/mini';
import { errorSchema, lookupBodySchema, lookupResponseSchema } from './lookup-schema.ts';
import { registrySummarySchema } from './registry-summary-schema.ts';

const json = (schema: z.ZodMiniType) => ({
  'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) },
});

/** Built on the first request for the document, not at cold start, then kept. */
let documentByVersion: { version: string; document: ReturnType<typeof buildDocument> } | undefined;

/** OpenAPI 3.1 description of the lookup API, generated from the same zod schemas the handler uses. */
export function openApiDocument(version: string) {
  if (documentByVersion?.version !== version)
    documentByVersion = { version, document: buildDocument(version) };
  return documentByVersion.document;
}

function buildDocument(version: string) {
  const errorContent = json(errorSchema);
  const error = (description: string, extra: Record<string, unknown> = {}) => ({
    description,
    content: errorContent,
    ...extra,
  });
  /** Answers any request can get, whatever its route (some only from the local server). */
  const anyRequest = {
    '400': error(
      'Malformed request (not HTTP/1.1, unknown method, invalid target, missing Host, CONNECT or an upgrade)',
    ),
    '405': error('The route exists but takes another method; the Allow header names it', {
      headers: { Allow: { description: 'The method the route takes', schema: { type: 'string' } } },
    }),
    '408': error('The request line, headers or body did not arrive in time (local server)'),
    '413': error('Body over the size limit; details.limit is the limit in bytes'),
    '417': error('An Expect header other than 100-continue (local server)'),
    '421': error('Host is not a loopback name: localhost, 127.x.x.x, [::1] (local server)'),
    '431': error('Request line and headers over the size limit (local server)'),
    '500': error('Unexpected server error; details are in the server logs'),
  };
  const lookupErrors = {
    ...anyRequest,
    '400': error('Invalid request; details.path is the JSON path of the problem'),
    '404': error('Unknown feature service or view, or one that is not online'),
    '413': error('Body or entity count over the limit; details.limit is the limit'),
    '415': error('Body is not application/json (or */*+json), charset utf-8 if any'),
    '500': error(
      'INTERNAL: a server error, or an online store the service cannot read (a missing table, access denied); the message is generic, details.requestId names the log entry with the cause',
    ),
    '503': error(
      'STORE_UNAVAILABLE (online store unavailable after retries) or DEADLINE_EXCEEDED (no answer before the deadline); the message is generic, details.requestId names the log entry with the cause',
      {
        headers: {
          'Retry-After': {
            description: 'Seconds to wait before retrying',
            schema: { type: 'string' },
          },
        },
      },
    ),
  };
  const lookup = (summary: string, parameter: string) => ({
    post: {
      summary,
      parameters: [
        {
          name: parameter,
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
        },
      ],
      requestBody: { required: true, content: json(lookupBodySchema) },
      responses: {
        '200': {
          description: 'One result per entity, in request order',
          content: json(lookupResponseSchema),
        },
        ...lookupErrors,
      },
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'fstore online lookup API',
      version,
      description:
        'Every error answers { "error": { "code", "message", "details" } }. A path not listed here answers 404 (code NOT_FOUND).',
    },
    paths: {
      '/v1/features/{service}': lookup('Features of a feature service for each entity', 'service'),
      '/v1/feature-views/{view}': lookup('Features of one feature view for each entity', 'view'),
      '/v1/registry': {
        get: {
          summary:
            'Feature views and services with keys, types, TTLs and lineage; owners, tags and descriptions only where the server has them (not on a deployed API)',
          responses: {
            '200': { description: 'The registry', content: json(registrySummarySchema) },
            ...anyRequest,
          },
        },
      },
      '/v1/health': {
        get: {
          summary: 'Liveness and online-store reachability',
          responses: {
            '200': { description: 'Healthy' },
            '503': { description: 'Online store unreachable' },
            ...anyRequest,
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1' }, ...anyRequest },
        },
      },
    },
  };
}
