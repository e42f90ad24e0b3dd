import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth, so equal data always gives equal bytes. */
export function stableStringify(value: unknown, indent = 2): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) sorted[key] = sortKeys(item);
    }
    return sorted;
  }
  return value;
}

export function contentHash(value: unknown, length: number): string {
  return createHash('sha256').update(stableStringify(value, 0)).digest('hex').slice(0, length);
}
