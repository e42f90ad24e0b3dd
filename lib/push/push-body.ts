import { ApiError } from '../api/api-error.ts';
import { isObject } from '../is-object.ts';
import type { PushLimits } from './push-limits.ts';
import { defaultPushTarget, type PushTarget, pushTargets } from './push-target.ts';

export interface PushBody {
  readonly rows: readonly unknown[];
  readonly to: PushTarget;
}

const bodyKeys = new Set(['rows', 'to']);

/**
 * The shape of a parsed push body, `{ "rows": [...], "to"?: ... }`: 400 INVALID_BODY naming the
 * JSON path for anything else, 400 EMPTY_PUSH for no rows, 413 TOO_MANY_ROWS over the limit.
 * The rows themselves are checked against the source by `validatePushRows`.
 */
export function pushBodyShape(json: unknown, limits: PushLimits): PushBody {
  if (!isObject(json) || Array.isArray(json))
    throw invalidBody('$', 'the body must be a JSON object: {"rows": [...], "to": "online"}');
  for (const key of Object.keys(json))
    if (!bodyKeys.has(key))
      throw invalidBody(`$.${key}`, `"${key}" is not a push field; the fields are rows and to`);
  const { rows, to } = json as { rows?: unknown; to?: unknown };
  if (!Array.isArray(rows)) throw invalidBody('$.rows', 'rows must be a list of row objects');
  if (rows.length === 0)
    throw new ApiError(400, 'EMPTY_PUSH', '$.rows: the push has no rows', { path: '$.rows' });
  if (rows.length > limits.maxRows)
    throw new ApiError(
      413,
      'TOO_MANY_ROWS',
      `$.rows: ${rows.length} rows are over the limit of ${limits.maxRows} rows per push; split them into several requests`,
      { path: '$.rows', limit: limits.maxRows, rows: rows.length },
    );
  if (to !== undefined && !(pushTargets as readonly unknown[]).includes(to))
    throw invalidBody(
      '$.to',
      `to must be one of ${pushTargets.map((t) => `"${t}"`).join(', ')}, got ${JSON.stringify(to)}`,
    );
  return { rows, to: (to as PushTarget | undefined) ?? defaultPushTarget };
}

function invalidBody(path: string, message: string): ApiError {
  return new ApiError(400, 'INVALID_BODY', `${path}: ${message}`, { path });
}
