import type { JoinKeyType } from '../definitions/index.ts';
import { HintedError } from '../hinted-error.ts';

export class EntityKeyError extends HintedError {}

/** DynamoDB allows 2048 bytes in a partition key; the view prefix takes part of it. */
export const maxPartitionKeyBytes = 2048;

export type JoinKeyValue = string | number | bigint;

const int32Range = [-2_147_483_648, 2_147_483_647] as const;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/**
 * Readable, deterministic text for one entity's join keys, in the view's key order:
 * `customer_id=C000001` or `bank_id=12|card=4111`. `%`, `|`, `=` and control characters in
 * values are percent-encoded, so the text splits back unambiguously.
 */
export function encodeEntityKey(
  joinKeys: readonly { name: string; type: JoinKeyType }[],
  values: Readonly<Record<string, unknown>>,
): string {
  return joinKeys
    .map((key) => `${key.name}=${escapeValue(keyText(key, values[key.name]))}`)
    .join('|');
}

export function decodeEntityKey(text: string): Record<string, string> {
  return Object.fromEntries(
    text.split('|').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at), decodeURIComponent(part.slice(at + 1))];
    }),
  );
}

/** The partition key of one view version's item for one entity. */
export function partitionKey(keyPrefix: string, entityKey: string): string {
  const key = `${keyPrefix}#${entityKey}`;
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short keys need no byte count.
  if (
    key.length * 3 > maxPartitionKeyBytes &&
    Buffer.byteLength(key, 'utf8') > maxPartitionKeyBytes
  ) {
    throw new EntityKeyError(
      `entity key is ${Buffer.byteLength(key, 'utf8')} bytes with its view prefix; DynamoDB allows ${maxPartitionKeyBytes}`,
      'use shorter join-key values',
    );
  }
  return key;
}

function keyText(key: { name: string; type: JoinKeyType }, value: unknown): string {
  if (value === undefined || value === null)
    throw new EntityKeyError(
      `join key "${key.name}" is missing`,
      `give "${key.name}" a ${key.type} value`,
    );
  if (key.type === 'string') {
    if (typeof value !== 'string')
      throw new EntityKeyError(
        `join key "${key.name}" must be a string, got ${describe(value)}`,
        'quote the value',
      );
    if (value.length === 0)
      throw new EntityKeyError(`join key "${key.name}" is empty`, 'give a non-empty value');
    return value;
  }
  const integer =
    typeof value === 'bigint'
      ? value
      : typeof value === 'number' && Number.isInteger(value)
        ? BigInt(value)
        : undefined;
  if (integer === undefined)
    throw new EntityKeyError(
      `join key "${key.name}" must be an integer (${key.type}), got ${describe(value)}`,
      'pass a whole number',
    );
  const [min, max] =
    key.type === 'int32' ? [BigInt(int32Range[0]), BigInt(int32Range[1])] : [int64Min, int64Max];
  if (integer < min || integer > max)
    throw new EntityKeyError(
      `join key "${key.name}" is outside the ${key.type} range`,
      `use a value from ${min} to ${max}`,
    );
  return integer.toString();
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value;
}

/** The characters escapeValue must encode. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be escaped
const needsEscape = /[%|=\x00-\x1f\x7f]/;

function escapeValue(text: string): string {
  if (!needsEscape.test(text)) return text;
  let escaped = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    const special = char === '%' || char === '|' || char === '=' || code < 0x20 || code === 0x7f;
    escaped += special ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : char;
  }
  return escaped;
}
