import type { JoinKeyType } from '../definitions/index.ts';
import { integerKeyProblem } from '../online/integer-join-keys.ts';
import { ApiError } from './api-error.ts';
import { checkLookupBody, type LookupBody } from './check-lookup-body.ts';
import { parseJsonBody } from './parse-json-body.ts';

export type ValidatedLookup = LookupBody;

export interface LookupLimits {
  readonly maxEntities: number;
  readonly maxBodyBytes: number;
}

/**
 * Parses and checks a lookup body against the target's join keys and feature names.
 * Every problem becomes a 4xx ApiError whose details carry the JSON path.
 */
export function validateLookupBody(
  body: string | null | undefined,
  target: {
    joinKeys: readonly { name: string; type: JoinKeyType }[];
    featureNames: readonly string[];
    /** Request values an entity may carry beside its join keys (on-demand views). */
    requestFields?: readonly string[];
  },
  limits: LookupLimits,
): ValidatedLookup {
  const text = body ?? '';
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBodyBytes) {
    throw new ApiError(
      413,
      'BODY_TOO_LARGE',
      `request body is ${bytes} bytes; the limit is ${limits.maxBodyBytes}`,
      { path: '$', limit: limits.maxBodyBytes },
    );
  }
  const json = parseJsonBody(text);
  if (
    typeof json === 'object' &&
    json !== null &&
    Array.isArray((json as { entities?: unknown }).entities)
  ) {
    const count = (json as { entities: unknown[] }).entities.length;
    if (count > limits.maxEntities) {
      throw new ApiError(
        413,
        'TOO_MANY_ENTITIES',
        `request has ${count} entities; the limit is ${limits.maxEntities}`,
        { path: '$.entities', limit: limits.maxEntities },
      );
    }
  }
  const parsed = checkLookupBody(json);
  parsed.entities.forEach((entity, index) => {
    checkEntity(entity, index, target.joinKeys, target.requestFields ?? []);
  });
  parsed.features?.forEach((feature, index) => {
    if (!target.featureNames.includes(feature)) {
      throw new ApiError(
        400,
        'UNKNOWN_FEATURE',
        `$.features[${index}]: no feature "${feature}" here; available: ${target.featureNames.join(', ')}`,
        { path: `$.features[${index}]`, feature },
      );
    }
  });
  return parsed;
}

function checkEntity(
  entity: Record<string, string | number | boolean>,
  index: number,
  joinKeys: readonly { name: string; type: JoinKeyType }[],
  requestFields: readonly string[],
): void {
  const at = `$.entities[${index}]`;
  for (const key of joinKeys) {
    const value = Object.hasOwn(entity, key.name) ? entity[key.name] : undefined;
    const path = `${at}.${key.name}`;
    if (value === undefined)
      throw new ApiError(400, 'MISSING_JOIN_KEY', `${path}: join key "${key.name}" is missing`, {
        path,
      });
    if (key.type === 'string' && (typeof value !== 'string' || value.length === 0)) {
      throw new ApiError(
        400,
        'INVALID_JOIN_KEY',
        `${path}: must be a non-empty string, got ${JSON.stringify(value)}`,
        { path },
      );
    }
    const problem = key.type === 'string' ? undefined : integerKeyProblem(key.type, value);
    if (problem) throw new ApiError(400, 'INVALID_JOIN_KEY', `${path}: ${problem}`, { path });
  }
  for (const name of Object.keys(entity)) {
    if (!joinKeys.some((k) => k.name === name) && !requestFields.includes(name)) {
      const path = `${at}.${name}`;
      throw new ApiError(
        400,
        'UNKNOWN_KEY',
        `${path}: "${name}" is not a join key${requestFields.length > 0 ? ' or request value' : ''} here; expected ${[...joinKeys.map((k) => k.name), ...requestFields].join(', ')}`,
        { path },
      );
    }
  }
}
