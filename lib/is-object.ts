/** Whether a value is an object of named fields: not null, not an array (a JSON object, say). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
