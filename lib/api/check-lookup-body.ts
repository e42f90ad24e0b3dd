import { isObject } from '../is-object.ts';
import { ApiError } from './api-error.ts';
import { jsonKind } from './json-kind.ts';

/** A lookup body whose shape is checked; join keys and feature names are checked against the target later. */
export interface LookupBody {
  /** Join keys, and request values of on-demand views (which may also be true or false). */
  readonly entities: readonly Record<string, string | number | boolean>[];
  readonly features?: readonly string[];
}

const acceptedKeys = ['entities', 'features'];

/**
 * Checks the shape of a parsed lookup body by hand, so the lookup Lambda builds no zod schema at
 * cold start (ADR 0014). lookupBodySchema (lookup-schema.ts) documents the same shape for the
 * OpenAPI document, and a test holds the two to the same answer, message and JSON path: this
 * reports the problem zod would report first (the shape's keys in order, then unknown keys).
 */
export function checkLookupBody(json: unknown): LookupBody {
  if (!isObject(json))
    throw invalid('$', `must be an object with an "entities" list, got ${jsonKind(json)}`);
  const { entities, features } = json;
  if (!Array.isArray(entities))
    throw invalid(
      '$.entities',
      entities === undefined ? 'is required' : `must be a list, got ${jsonKind(entities)}`,
    );
  entities.forEach(checkEntityShape);
  if (entities.length === 0) throw invalid('$.entities', 'must list at least one entity');
  if (features !== undefined) {
    if (!Array.isArray(features))
      throw invalid('$.features', `must be a list of feature names, got ${jsonKind(features)}`);
    features.forEach((feature, index) => {
      if (typeof feature !== 'string')
        throw invalid(`$.features[${index}]`, `must be a string, got ${jsonKind(feature)}`);
    });
    if (features.length === 0)
      throw invalid('$.features', 'must name at least one feature when given');
  }
  const unknown = Object.keys(json).filter((key) => !acceptedKeys.includes(key));
  if (unknown[0] !== undefined) {
    const path = `$.${unknown[0]}`;
    throw new ApiError(
      400,
      'UNKNOWN_KEY',
      `${path}: ${unknown.map((k) => `"${k}"`).join(', ')} is not an accepted key; accepted: ${acceptedKeys.join(', ')}`,
      { path },
    );
  }
  return features === undefined
    ? { entities: entities as Record<string, string | number | boolean>[] }
    : {
        entities: entities as Record<string, string | number | boolean>[],
        features: features as string[],
      };
}

function checkEntityShape(entity: unknown, index: number): void {
  const at = `$.entities[${index}]`;
  if (!isObject(entity))
    throw invalid(at, `must be an object of join keys, got ${jsonKind(entity)}`);
  for (const [key, value] of Object.entries(entity)) {
    if (
      typeof value !== 'string' &&
      typeof value !== 'boolean' &&
      !(typeof value === 'number' && Number.isFinite(value))
    )
      throw invalid(
        `${at}.${key}`,
        `must be a string, a number or a boolean, got ${jsonKind(value)}`,
      );
  }
}

function invalid(path: string, problem: string): ApiError {
  return new ApiError(400, 'INVALID_REQUEST', `${path}: ${problem}`, { path });
}
