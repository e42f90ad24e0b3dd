import type { RuntimeSource } from '../registry/runtime-projection.ts';

/**
 * The raw column names of a source, in schema order: the name a push log or an ingested file
 * carries for each schema column (its `fieldMapping` key, else the schema name itself).
 */
export function rawNames(source: Pick<RuntimeSource, 'schema' | 'fieldMapping'>): string[] {
  const rawFor = new Map(Object.entries(source.fieldMapping).map(([raw, name]) => [name, raw]));
  return source.schema.map((c) => rawFor.get(c.name) ?? c.name);
}
