import type { JoinKeyType } from '../definitions/index.ts';

const int32Range = [-2_147_483_648, 2_147_483_647] as const;
const int64Range = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const decimalText = /^-?\d+$/;

/**
 * Why a lookup's value cannot be an integer join key of `type`, or undefined when it can. An
 * int32 is a whole JSON number. An int64 is a whole JSON number that is a safe integer, or
 * decimal text (optional leading `-`) anywhere in the int64 range: a JSON number beyond 2^53 was
 * already rounded when the body was parsed, so it is refused, not looked up under a neighbour.
 */
export function integerKeyProblem(
  type: Exclude<JoinKeyType, 'string'>,
  value: unknown,
): string | undefined {
  if (type === 'int32') {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return `must be an int32 (a whole JSON number), got ${describe(value)}`;
    return value < int32Range[0] || value > int32Range[1]
      ? `${value} is outside the int32 range ${int32Range[0]}..${int32Range[1]}`
      : undefined;
  }
  if (typeof value === 'number' && Number.isInteger(value))
    return Number.isSafeInteger(value)
      ? undefined
      : `is a JSON number beyond 2^53, where digits are lost (this one was read as ${value}); send the key as a decimal string`;
  if (typeof value !== 'string' || !decimalText.test(value))
    return `must be an int64 (a whole JSON number, or a decimal string), got ${describe(value)}`;
  return int64Text(value) === undefined
    ? `${describe(value)} is outside the int64 range ${int64Range[0]}..${int64Range[1]}`
    : undefined;
}

/**
 * The values with each int64 join key given as decimal text made a bigint, as encodeEntityKey
 * takes it. Text is how an int64 beyond 2^53 travels exactly: in lookup requests, and in the
 * JSON rows DuckDB and Athena give materialization. So a lookup and the materialization that
 * wrote the item encode the same integer as the same key. The values themselves when nothing
 * needs it (the common case: no copy). Other values pass through for encodeEntityKey to accept
 * or refuse.
 */
export function int64KeysAsBigint(
  joinKeys: readonly { name: string; type: JoinKeyType }[],
  values: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  let copy: Record<string, unknown> | undefined;
  for (const key of joinKeys) {
    if (key.type !== 'int64') continue;
    const value = values[key.name];
    if (typeof value !== 'string') continue;
    const integer = int64Text(value);
    if (integer === undefined) continue;
    copy ??= { ...values };
    copy[key.name] = integer;
  }
  return copy ?? values;
}

/** Decimal text as a bigint within int64, or undefined (also for long text, before any BigInt). */
function int64Text(text: string): bigint | undefined {
  if (!decimalText.test(text)) return undefined;
  const digits = text.replace(/^-?0*/, '');
  if (digits.length > 19) return undefined;
  const integer = BigInt(text);
  return integer < int64Range[0] || integer > int64Range[1] ? undefined : integer;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
