import * as z from 'zod/mini';
import { errorSchema, lookupBodySchema, lookupResponseSchema } from './lookup-schema.ts';
import { pushAnswerSchema, pushBodySchema } from './push-schema.ts';
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
      'INTERNAL: a server error, an online store the service cannot read (a missing table, access denied), or a damaged tile item (the message names its key); otherwise the message is generic; details.requestId names the log entry with the cause',
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
  const retryAfter = {
    'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'string' } },
  };
  const push = {
    post: {
      summary:
        'Write fresh rows of a source to its online views and (default) its offline store; the whole request is checked first, and one bad row writes nothing',
      parameters: [
        {
          name: 'source',
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
        },
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Makes a retried push a no-op that answers the first answer (1 to 255 characters of A-Z a-z 0-9 _ . : ~ + / = -; use a UUID)',
          schema: { type: 'string', pattern: '^[A-Za-z0-9_.:~+/=-]{1,255}$' },
        },
      ],
      requestBody: {
        required: true,
        description:
          "Each row names every column of the source (null for no value), timestamps as ISO-8601 text; at most the server's row limit (1000 by default) and body limit (256 KiB by default). `to` defaults to online_and_offline.",
        content: json(pushBodySchema),
      },
      responses: {
        '200': {
          description:
            'The rows are written: online counts per view (written, skippedAsOlder: the stored item is newer), offline rows stored (visible to training sets after compaction)',
          headers: {
            'idempotent-replayed': {
              description:
                '"true" when this is the stored answer of an earlier push with the same Idempotency-Key',
              schema: { type: 'string' },
            },
          },
          content: json(pushAnswerSchema),
        },
        ...anyRequest,
        '400': error(
          'Nothing written. INVALID_BODY, EMPTY_PUSH, INVALID_ROW (details: path $.rows[i].field, row, field, reason), DUPLICATE_ROW, NO_ONLINE_VIEWS ("to": "online" on a source no online view reads), SOURCE_FILTERED (an online push into a source with a row filter), INVALID_NAME, INVALID_IDEMPOTENCY_KEY',
        ),
        '404': error('UNKNOWN_SOURCE: no such source (details.known lists them)'),
        '409': error(
          'IDEMPOTENCY_KEY_IN_PROGRESS: a push with this Idempotency-Key is still running; retry after it answers',
        ),
        '413': error(
          'TOO_MANY_ROWS or BODY_TOO_LARGE: over the limit, details.limit; nothing written',
        ),
        '415': error('Body is not application/json (or */*+json), charset utf-8 if any'),
        '422': error(
          'IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was used for a different push (source, target or rows); nothing written',
        ),
        '501': error(
          'OFFLINE_PUSH_UNAVAILABLE: this server cannot store rows offline (details.supported; on AWS send "to": "online"), or IDEMPOTENCY_UNAVAILABLE: it keeps no Idempotency-Key records; nothing written',
        ),
        '503': error(
          'STORE_UNAVAILABLE: the online store or the Idempotency-Key store failed during the push (the message says which); retrying the same push is safe; details.requestId names the log entry',
          { headers: retryAfter },
        ),
      },
    },
  };
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
      '/v1/push/{source}': push,
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
