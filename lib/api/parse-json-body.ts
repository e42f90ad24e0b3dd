import { ApiError } from './api-error.ts';

/** Keys that reach for an object's prototype; no request body may carry them, at any depth. */
export const forbiddenKeys: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/**
 * Parses a request body as JSON and refuses, with 400 and the JSON path, any object key that
 * could reach a prototype (`__proto__`, `constructor`, `prototype`). JSON.parse itself only
 * creates own properties; refusing the keys here means no later copy (zod records, spreads,
 * `Object.assign`) can turn one into a prototype change. The walk is iterative, so deeply
 * nested input cannot overflow the stack.
 */
export function parseJsonBody(text: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ApiError(
      400,
      'INVALID_JSON',
      `$: request body is not JSON: ${(error as Error).message}`,
      { path: '$' },
      { cause: error },
    );
  }
  // Paths are built only for a refusal: building each one eagerly is quadratic in the depth.
  const pending: Step[] = [{ value: json }];
  for (let step = pending.pop(); step; step = pending.pop()) {
    const parent = step;
    const { value } = parent;
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        pending.push({ value: item, parent, segment: index });
      });
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (forbiddenKeys.has(key)) {
          const path = pathOf({ value: item, parent, segment: key });
          throw new ApiError(400, 'UNKNOWN_KEY', `${path}: "${key}" is not an accepted key`, {
            path,
          });
        }
        pending.push({ value: item, parent, segment: key });
      }
    }
  }
  return json;
}

interface Step {
  readonly value: unknown;
  readonly parent?: Step;
  readonly segment?: string | number;
}

function pathOf(step: Step): string {
  const segments: (string | number)[] = [];
  for (let at: Step | undefined = step; at?.segment !== undefined; at = at.parent)
    segments.push(at.segment);
  return segments
    .reverse()
    .reduce<string>((path, s) => (typeof s === 'number' ? `${path}[${s}]` : `${path}.${s}`), '$');
}
