import { ApiError } from './api-error.ts';

/** `application/json` or any `type/subtype+json`, optionally with `charset=utf-8` (quoted or not). */
const jsonMediaType =
  /^(?:application\/json|[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.+-]+\+json)\s*(?:;\s*charset\s*=\s*(?:utf-8|"utf-8")\s*)?$/i;

/** Case-insensitive header lookup over own properties only. */
export function headerValue(
  headers: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers))
    if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** Throws 415 unless the request says its body is JSON in UTF-8. */
export function requireJsonContentType(
  headers: Readonly<Record<string, string | undefined>>,
): void {
  const contentType = headerValue(headers, 'content-type');
  if (contentType !== undefined && jsonMediaType.test(contentType.trim())) return;
  throw new ApiError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    contentType === undefined
      ? 'the request has no content-type; send content-type: application/json'
      : `content-type "${contentType.slice(0, 100)}" is not accepted; send application/json (charset utf-8 if any)`,
    {
      accepted: ['application/json', '*/*+json'],
      ...(contentType === undefined ? {} : { received: contentType.slice(0, 100) }),
    },
  );
}
