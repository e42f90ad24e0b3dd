import { createHash } from 'node:crypto';
import { didYouMean } from '../closest-names.ts';
import type { JoinKeyType, ValueType } from '../definitions/index.ts';
import { HintedError } from '../hinted-error.ts';
import type { Registry, RegistrySource } from '../registry/index.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';

export class ErasureKeyError extends HintedError {}

/** One `--entity key=value`, its value typed as the join key. */
export interface ErasureKey {
  readonly key: string;
  readonly type: JoinKeyType;
  /** The value as text: the string itself, or the integer's decimal form. */
  readonly value: string;
}

const int32Range = [-2_147_483_648n, 2_147_483_647n] as const;
const int64Range = [-(2n ** 63n), 2n ** 63n - 1n] as const;

/** Every join key of the registry's entities and views, with its type. */
export function knownJoinKeys(registry: Registry): Map<string, JoinKeyType> {
  const keys = new Map<string, JoinKeyType>();
  for (const owner of [...registry.entities, ...registry.featureViews])
    for (const key of owner.joinKeys) if (!keys.has(key.name)) keys.set(key.name, key.type);
  return keys;
}

/**
 * `customer_id=C1` to a typed key, or an ErasureKeyError naming the argument: not key=value,
 * no such join key (listing the known ones, with the closest), an empty value, an integer key
 * given text or a number out of its range. Repeated arguments count once.
 */
export function parseErasureKeys(registry: Registry, texts: readonly string[]): ErasureKey[] {
  const known = knownJoinKeys(registry);
  const list = [...known.keys()].sort().join(', ');
  const parsed: ErasureKey[] = [];
  for (const [index, text] of texts.entries()) {
    const where = `--entity #${index + 1} "${text}"`;
    const at = text.indexOf('=');
    if (at <= 0)
      throw new ErasureKeyError(
        `${where} is not <join key>=<value>`,
        `write e.g. --entity ${[...known.keys()][0] ?? 'customer_id'}=C1; known join keys: ${list}`,
      );
    const key = text.slice(0, at).trim();
    const raw = text.slice(at + 1);
    const type = known.get(key);
    if (!type)
      throw new ErasureKeyError(
        `${where}: "${key}" is not a join key of any entity or feature view${didYouMean(key, known.keys())}`,
        `known join keys: ${list || '(none: the registry has no entities)'}`,
      );
    const value = typedValue(type, raw, `${where}: ${key}`);
    if (!parsed.some((p) => p.key === key && p.value === value)) parsed.push({ key, type, value });
  }
  if (parsed.length === 0)
    throw new ErasureKeyError('no --entity given', 'write e.g. --entity customer_id=C1');
  return parsed;
}

function typedValue(type: JoinKeyType, raw: string, where: string): string {
  if (type === 'string') {
    if (raw.length === 0) throw new ErasureKeyError(`${where} is empty`, 'give the key’s value');
    return raw;
  }
  const text = raw.trim();
  if (!/^-?\d+$/.test(text))
    throw new ErasureKeyError(
      `${where} must be a whole number (${type}), got "${raw}"`,
      `${where.split(': ').pop()} is ${type}`,
    );
  const value = BigInt(text);
  const [min, max] = type === 'int32' ? int32Range : int64Range;
  if (value < min || value > max)
    throw new ErasureKeyError(
      `${where} is ${value}, outside the ${type} range ${min}..${max}`,
      'check the value',
    );
  return value.toString();
}

/** The SQL literal of a key's value (DuckDB and Athena alike). */
export function valueLiteral(key: ErasureKey): string {
  return key.type === 'string' ? quoteLiteral(key.value) : key.value;
}

/** Where a source stores one key's values: a column of its schema, with that column's type. */
export interface KeyColumn {
  /** The join key (`ErasureKey.key`). */
  readonly key: string;
  /** The column as stored (the source's schema name). */
  readonly column: string;
  readonly type: ValueType;
}

/**
 * The columns of `source` holding `keys`: the schema column named as the key, and the schema
 * column its raw column of that name is mapped to (`fieldMapping`), whether or not a view of
 * the source is keyed on it. A source naming a customer_id column holds customers' rows.
 */
export function keyColumnsOf(
  source: {
    readonly schema: readonly { readonly name: string; readonly type: ValueType }[];
    readonly fieldMapping?: Readonly<Record<string, string>>;
  },
  keys: readonly ErasureKey[],
): KeyColumn[] {
  const typeOf = new Map(source.schema.map((column) => [column.name, column.type]));
  const found: KeyColumn[] = [];
  for (const key of new Set(keys.map((k) => k.key)))
    for (const column of new Set([key, source.fieldMapping?.[key]])) {
      const type = column === undefined ? undefined : typeOf.get(column);
      if (column !== undefined && type !== undefined) found.push({ key, column, type });
    }
  return found;
}

const integerTypes = new Set<string>(['int32', 'int64']);

/**
 * Predicate (DuckDB and Athena alike) true for rows holding any of `keys` in `columns`, limited
 * to the columns a file has (`present`); FALSE when it has none of them. A column of another
 * type than its key (a string key stored as int64) is compared as text.
 */
export function matchPredicate(
  keys: readonly ErasureKey[],
  columns: readonly KeyColumn[],
  present: ReadonlySet<string>,
): string {
  const terms: string[] = [];
  for (const { key: name, column, type } of columns) {
    const values = keys.filter((k) => k.key === name);
    if (!present.has(column) || values.length === 0) continue;
    const keyType = values[0]?.type;
    const sameType =
      type === keyType || (integerTypes.has(type) && integerTypes.has(keyType ?? ''));
    terms.push(
      sameType
        ? `${quoteIdentifier(column)} IN (${values.map(valueLiteral).join(', ')})`
        : `CAST(${quoteIdentifier(column)} AS VARCHAR) IN (${values.map((v) => quoteLiteral(v.value)).join(', ')})`,
    );
  }
  return terms.length === 0 ? 'FALSE' : terms.join(' OR ');
}

/** What the audit keeps of a key: sha256 of `key=value`, never the value. */
export function hashedKey(key: ErasureKey): string {
  return `sha256:${createHash('sha256').update(`${key.key}=${key.value}`).digest('hex')}`;
}

/**
 * The sources storing one of `keys` (keyColumnsOf), sorted: those of views keyed on them, and
 * any other source with such a column.
 */
export function affectedSources(registry: Registry, keys: readonly ErasureKey[]): RegistrySource[] {
  return registry.sources
    .filter((source) => keyColumnsOf(source, keys).length > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Whether an entity key's decoded parts (decodeEntityKey) hold one of `keys`. */
export function entityKeyMatches(
  parts: Readonly<Record<string, string>>,
  keys: readonly ErasureKey[],
): boolean {
  return keys.some((key) => parts[key.key] === key.value);
}
