import { identifierPattern } from '../definitions/identifiers.ts';
import { requestValueProblem, type TransformFunction } from '../on-demand/transform-values.ts';
import type { Deadline } from '../online/dynamodb-batch-get/deadline.ts';
import { EntityKeyError } from '../online/entity-key.ts';
import type { FetchedLookup, LookupRequest } from '../online/online-lookup.ts';
import type {
  RuntimeFeatureService,
  RuntimeOnDemandView,
  RuntimeRegistry,
} from '../registry/runtime-projection.ts';
import { ApiError, type ApiResponse, errorResponse, jsonResponse } from './api-error.ts';
import { requireJsonContentType } from './content-type.ts';
import { type DependencyFailure, dependencyFailure } from './dependency-failure.ts';
import { type LookupStats, type LookupTarget, lookupResponseJson } from './lookup-response-json.ts';
import {
  onDemandResponseJson,
  planOnDemand,
  requestFieldNames,
  requestValues,
  withInputs,
} from './on-demand-lookup.ts';
import { registrySummary } from './registry-summary.ts';
import { type LookupLimits, validateLookupBody } from './validate-lookup.ts';

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: string | null;
  /**
   * The request's headers (any case). When given, lookups must say `content-type:
   * application/json` (or `*\/*+json`); callers without HTTP headers leave it out.
   */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  /** Names the request in the logs; a 5xx answer gives it to the caller (Lambda's awsRequestId). */
  readonly requestId?: string;
  /** When the answer is due; a lookup still reading then answers 503 DEADLINE_EXCEEDED. */
  readonly deadline?: Deadline;
}

/** What a lookup is given besides the request. */
export interface LookupCall {
  readonly deadline?: Deadline;
}

export type { DependencyFailure, LookupStats };

export interface ApiDependencies {
  readonly registry: RuntimeRegistry;
  readonly limits: LookupLimits;
  /** Reads the items of a lookup (fetchLookup); the answer is written from them. */
  readonly lookup: (request: LookupRequest, call: LookupCall) => Promise<FetchedLookup>;
  readonly health: () => Promise<boolean>;
  /** Logs unexpected errors; they answer 500 without internals. */
  readonly onUnexpectedError?: (error: unknown, requestId?: string) => void;
  /**
   * Logs an online-store failure in full (warn when transient, error for a misconfiguration);
   * its answer carries only a generic message and the request id.
   */
  readonly onDependencyError?: (failure: DependencyFailure) => void;
  /** Told about every answered lookup, for metrics. */
  readonly onLookupServed?: (stats: LookupStats) => void;
  /**
   * The transform of an on-demand view; by default the one this process defined whose source
   * hashes to the registry's (lib/on-demand/transform-catalog.ts).
   */
  readonly transformFor?: (view: RuntimeOnDemandView) => TransformFunction | undefined;
}

/**
 * The HTTP API's routes and error format, independent of how requests arrive (Lambda behind
 * API Gateway, or the local server). Client mistakes are 4xx with a JSON path; only a bug is 500.
 */
export async function handleRequest(
  request: ApiRequest,
  deps: ApiDependencies,
): Promise<ApiResponse> {
  try {
    return await route(request, deps);
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error);
    if (error instanceof EntityKeyError)
      return errorResponse(new ApiError(400, 'INVALID_JOIN_KEY', error.message, {}));
    const { requestId } = request;
    const failure = dependencyFailure(error, requestId);
    if (failure) {
      deps.onDependencyError?.(failure.log);
      return errorResponse(failure.answer);
    }
    deps.onUnexpectedError?.(error, requestId);
    return errorResponse(
      new ApiError(
        500,
        'INTERNAL',
        requestId === undefined
          ? 'unexpected error; see the service logs'
          : `unexpected error; see the service logs under request id ${requestId}`,
        requestId === undefined ? {} : { requestId },
      ),
    );
  }
}

async function route(request: ApiRequest, deps: ApiDependencies): Promise<ApiResponse> {
  const path = request.path.replace(/\/+$/, '') || '/';
  const method = request.method.toUpperCase();
  if (path === '/v1/health') {
    requireMethod(method, 'GET', path);
    const healthy = await deps.health();
    return jsonResponse(healthy ? 200 : 503, {
      status: healthy ? 'ok' : 'unavailable',
      registryVersion: deps.registry.version,
    });
  }
  if (path === '/v1/registry') {
    requireMethod(method, 'GET', path);
    return jsonResponse(200, registrySummary(deps.registry));
  }
  if (path === '/v1/openapi.json') {
    requireMethod(method, 'GET', path);
    // Loaded on the first request for it: the zod schemas and JSON Schema code cost the cold start.
    const { openApiDocument } = await import('./openapi.ts');
    return jsonResponse(200, openApiDocument(deps.registry.version));
  }
  const lookup = /^\/v1\/(features|feature-views)\/([^/]*)$/.exec(path);
  if (lookup) {
    requireMethod(method, 'POST', path);
    if (request.headers) requireJsonContentType(request.headers);
    const name = decodeName(lookup[2] ?? '');
    return lookup[1] === 'features'
      ? serviceLookup(name, request, deps)
      : viewLookup(name, request, deps);
  }
  throw new ApiError(404, 'NOT_FOUND', `no route ${method} ${path}`, { path });
}

async function serviceLookup(
  name: string,
  request: ApiRequest,
  deps: ApiDependencies,
): Promise<ApiResponse> {
  const service = deps.registry.featureServices.find((s) => s.name === name);
  if (!service)
    throw new ApiError(404, 'UNKNOWN_SERVICE', `no feature service "${name}"`, {
      service: name,
      known: deps.registry.featureServices.map((s) => s.name),
    });
  if (!service.online)
    throw new ApiError(
      404,
      'SERVICE_NOT_ONLINE',
      `feature service "${name}" reads views that are not online`,
      { service: name },
    );
  const views = service.features.map((f) => f.view).filter((v, i, all) => all.indexOf(v) === i);
  const inputViews = (service.onDemandFeatures ?? []).flatMap(
    (f) =>
      deps.registry.onDemandViews?.find((v) => v.name === f.view)?.inputs.map((i) => i.view) ?? [],
  );
  const joinKeys = [...views, ...inputViews]
    .flatMap((v) => deps.registry.featureViews.find((fv) => fv.name === v)?.joinKeys ?? [])
    .filter((k, i, all) => all.findIndex((o) => o.name === k.name) === i);
  const body = validateLookupBody(
    request.body,
    {
      joinKeys,
      featureNames: [...service.features, ...(service.onDemandFeatures ?? [])].map(
        (f) => f.outputName,
      ),
      requestFields: requestFieldNames(deps.registry, service),
    },
    deps.limits,
  );
  const isWanted = (outputName: string) => !body.features || body.features.includes(outputName);
  const wanted = service.features.filter((f) => isWanted(f.outputName));
  const byView = views
    .map((view) => ({
      view,
      features: wanted
        .filter((f) => f.view === view)
        .map((f) => ({ feature: f.feature, outputName: f.outputName })),
    }))
    .filter((v) => v.features.length > 0);
  refuseMistypedRequestValues(deps.registry, service, body.entities);
  // Request values stay out of the read (and of each answer's echoed entity): join keys only.
  const entities = body.entities.map((entity) =>
    Object.fromEntries(joinKeys.map((k) => [k.name, entity[k.name]])),
  );
  const onDemand = planOnDemand(deps.registry, service, isWanted, deps.transformFor);
  if (onDemand.views.length === 0)
    return lookupAnswer(
      { kind: 'service', name },
      await deps.lookup({ views: byView, entities }, lookupCall(request)),
      deps,
    );
  const values = requestValues(onDemand, body.entities);
  const fetched = await deps.lookup(
    withInputs({ views: byView, entities }, onDemand),
    lookupCall(request),
  );
  const { body: text, stats } = onDemandResponseJson(
    { kind: 'service', name },
    fetched,
    onDemand,
    values,
    request.deadline,
  );
  deps.onLookupServed?.(stats);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: text };
}

/**
 * A request value sent is checked against its field's type whether or not the features that
 * read it are asked for, so a body is valid or not the same way for every `features` list.
 */
function refuseMistypedRequestValues(
  registry: RuntimeRegistry,
  service: RuntimeFeatureService,
  entities: readonly Readonly<Record<string, unknown>>[],
): void {
  const fields = (service.onDemandFeatures ?? []).flatMap(
    (f) => registry.onDemandViews?.find((v) => v.name === f.view)?.request ?? [],
  );
  entities.forEach((entity, index) => {
    for (const field of fields) {
      if (!Object.hasOwn(entity, field.name)) continue;
      const problem = requestValueProblem(field.type, entity[field.name]);
      const path = `$.entities[${index}].${field.name}`;
      if (problem)
        throw new ApiError(400, 'INVALID_REQUEST_VALUE', `${path}: ${problem}`, { path });
    }
  });
}

async function viewLookup(
  name: string,
  request: ApiRequest,
  deps: ApiDependencies,
): Promise<ApiResponse> {
  const view = deps.registry.featureViews.find((v) => v.name === name);
  if (!view)
    throw new ApiError(404, 'UNKNOWN_VIEW', `no feature view "${name}"`, {
      view: name,
      known: deps.registry.featureViews.map((v) => v.name),
    });
  if (!view.online)
    throw new ApiError(404, 'VIEW_NOT_ONLINE', `feature view "${name}" is not online`, {
      view: name,
    });
  const body = validateLookupBody(
    request.body,
    { joinKeys: view.joinKeys, featureNames: view.features.map((f) => f.name) },
    deps.limits,
  );
  const features = view.features
    .filter((f) => !body.features || body.features.includes(f.name))
    .map((f) => ({ feature: f.name, outputName: f.name }));
  return lookupAnswer(
    { kind: 'view', name },
    await deps.lookup(
      { views: [{ view: name, features }], entities: body.entities },
      lookupCall(request),
    ),
    deps,
  );
}

function lookupAnswer(
  target: LookupTarget,
  lookup: FetchedLookup,
  deps: ApiDependencies,
): ApiResponse {
  const { body, stats } = lookupResponseJson(target, lookup);
  deps.onLookupServed?.(stats);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body };
}

const lookupCall = (request: ApiRequest): LookupCall =>
  request.deadline ? { deadline: request.deadline } : {};

function decodeName(raw: string): string {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, 'INVALID_NAME', 'the name in the path is not valid URL encoding', {
      path: '$path',
    });
  }
  if (!identifierPattern.test(name)) {
    throw new ApiError(
      400,
      'INVALID_NAME',
      `"${name}" is not a feature service or view name ([a-z][a-z0-9_]*)`,
      { path: '$path', name },
    );
  }
  return name;
}

function requireMethod(method: string, expected: string, path: string): void {
  if (method !== expected)
    throw new ApiError(
      405,
      'METHOD_NOT_ALLOWED',
      `${path} accepts ${expected}, not ${method}`,
      { allowed: [expected] },
      { headers: { allow: expected } },
    );
}
