export const scalarTypes = [
  'int32',
  'int64',
  'float32',
  'float64',
  'string',
  'bool',
  'timestamp',
] as const;
export type ScalarType = (typeof scalarTypes)[number];
export type ListType = `list<${ScalarType}>`;
/** Type of a source column or feature value. Lists hold embeddings and multi-valued features. */
export type ValueType = ScalarType | ListType;

export const valueTypes: readonly ValueType[] = [
  ...scalarTypes,
  ...scalarTypes.map((t): ListType => `list<${t}>`),
];

/** Join keys must be exact and hashable, so only strings and integers. */
export const joinKeyTypes = ['string', 'int32', 'int64'] as const;
export type JoinKeyType = (typeof joinKeyTypes)[number];

export function isValueType(value: unknown): value is ValueType {
  return typeof value === 'string' && (valueTypes as readonly string[]).includes(value);
}

export function isNumericType(type: ValueType): boolean {
  return type === 'int32' || type === 'int64' || type === 'float32' || type === 'float64';
}

export function isIntegerType(type: ValueType): boolean {
  return type === 'int32' || type === 'int64';
}

export function listElementType(type: ValueType): ScalarType | undefined {
  const match = /^list<(.+)>$/.exec(type);
  return match ? (match[1] as ScalarType) : undefined;
}

/**
 * Whether a source column of type `from` can feed a feature of type `to` without loss:
 * the same type, or a widening (int32 → int64, float32 → float64, int32 → float64).
 */
export function canWiden(from: ValueType, to: ValueType): boolean {
  if (from === to) return true;
  const widenings: Record<string, readonly ValueType[]> = {
    int32: ['int64', 'float64'],
    float32: ['float64'],
  };
  const fromElement = listElementType(from);
  const toElement = listElementType(to);
  if (fromElement && toElement) return canWiden(fromElement, toElement);
  return widenings[from]?.includes(to) ?? false;
}
