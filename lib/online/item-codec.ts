import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ValueType } from '../definitions/index.ts';
import { formatMicros, parseEpochMicros } from '../epoch-micros.ts';
import { HintedError } from '../hinted-error.ts';

export class ItemCodecError extends HintedError {}

/** Online item attributes besides the key; features live in the map attribute `f`. */
export const itemAttributes = {
  key: 'pk',
  features: 'f',
  eventTs: 'event_ts',
  createdTs: 'created_ts',
  seq: 'fstore_seq',
  materializedAt: 'materialized_at',
  expiresAt: 'expires_at',
} as const;

/** A feature value as DynamoDB stores it: numbers as N, text as S, booleans, lists, NULL. */
export function encodeValue(type: ValueType, value: unknown, where: string): AttributeValue {
  if (value === null || value === undefined) return { NULL: true };
  const list = /^list<(.+)>$/.exec(type);
  if (list) {
    if (!Array.isArray(value))
      throw new ItemCodecError(`${where} must be a list, got ${typeof value}`, 'pass an array');
    return {
      L: value.map((item, index) => encodeValue(list[1] as ValueType, item, `${where}[${index}]`)),
    };
  }
  switch (type) {
    case 'int32':
    case 'int64': {
      const text =
        typeof value === 'bigint'
          ? value.toString()
          : typeof value === 'number' && Number.isInteger(value)
            ? String(value)
            : typeof value === 'string' && /^-?\d+$/.test(value)
              ? value
              : undefined;
      if (text === undefined)
        throw new ItemCodecError(
          `${where} must be an integer, got ${JSON.stringify(value)}`,
          'check the source data',
        );
      return { N: text };
    }
    case 'float32':
    case 'float64':
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new ItemCodecError(
          `${where} must be a finite number, got ${String(value)}`,
          'NaN and infinities cannot be stored online',
        );
      return fitsDynamoNumber(value) ? { N: String(value) } : { S: floatText(value) };
    case 'string':
      if (typeof value !== 'string')
        throw new ItemCodecError(
          `${where} must be a string, got ${typeof value}`,
          'check the source data',
        );
      return { S: value };
    case 'bool':
      if (typeof value !== 'boolean')
        throw new ItemCodecError(
          `${where} must be a boolean, got ${typeof value}`,
          'check the source data',
        );
      return { BOOL: value };
    case 'timestamp':
      return { S: toIsoMicros(value, where) };
    default:
      throw new ItemCodecError(`${where} has unsupported type ${type}`, 'report this as a bug');
  }
}

/**
 * Whether DynamoDB stores `value` as a number exactly: magnitudes from 1e-130 to under 1e126
 * (it refuses others: "Number underflow"/"overflow"), and not -0 (it keeps 0). Other doubles
 * are stored as their text (S), so the online value has the bits the offline store has.
 */
function fitsDynamoNumber(value: number): boolean {
  const magnitude = Math.abs(value);
  return Object.is(value, 0) || (magnitude >= 1e-130 && magnitude < 1e126);
}

/** A float's shortest text, `-0` for negative zero (String gives `0`). */
function floatText(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

const isFloatType = (type: ValueType) => type === 'float64' || type === 'float32';
const floatTextPattern = /^-?\d+(?:\.\d+)?(?:e[+-]\d+)?$/;

/** A float stored as text by encodeValue, as its number; undefined for any other attribute. */
function floatOfText(type: ValueType, attribute: AttributeValue): number | undefined {
  const text = attribute.S;
  return text !== undefined && isFloatType(type) && floatTextPattern.test(text)
    ? Number(text)
    : undefined;
}

export function decodeValue(type: ValueType, attribute: AttributeValue | undefined): unknown {
  if (!attribute || attribute.NULL) return null;
  if (attribute.N !== undefined) {
    const number = Number(attribute.N);
    return type === 'int64' && !Number.isSafeInteger(number) ? attribute.N : number;
  }
  if (attribute.S !== undefined) return floatOfText(type, attribute) ?? attribute.S;
  if (attribute.BOOL !== undefined) return attribute.BOOL;
  if (attribute.L !== undefined) {
    const element = type.slice('list<'.length, -1) as ValueType;
    return attribute.L.map((item) => decodeValue(element, item));
  }
  return null;
}

/**
 * The JSON text of `decodeValue(type, attribute)`, written from the attribute without making the
 * value first, or `undefined` where decodeValue gives null. A number's text is DynamoDB's own
 * when it is already what JSON.stringify would write (see `isShortestNumberText`).
 */
export function attributeJson(
  type: ValueType,
  attribute: AttributeValue | undefined,
): string | undefined {
  if (!attribute || attribute.NULL) return undefined;
  const number = attribute.N;
  if (number !== undefined) {
    // decodeValue keeps an int64 that is not a safe integer as text.
    if (isShortestNumberText(number) && (type !== 'int64' || !number.includes('.'))) return number;
    const value = decodeValue(type, attribute);
    return typeof value === 'string' ? JSON.stringify(value) : numberJson(value as number);
  }
  if (attribute.S !== undefined) {
    const float = floatOfText(type, attribute);
    return float === undefined ? JSON.stringify(attribute.S) : floatText(float);
  }
  if (attribute.BOOL !== undefined) return attribute.BOOL ? 'true' : 'false';
  if (attribute.L !== undefined) return JSON.stringify(decodeValue(type, attribute));
  return undefined;
}

// Plain decimal, no leading zeros, no trailing fractional zeros.
const plainDecimal = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/**
 * Whether `String(Number(text))` is `text` itself. It is for a plain decimal of at most 15
 * digits (any such decimal survives the trip through a double, and no shorter text names the
 * same double), unless it is `-0` or small enough (under 1e-6) for JavaScript to write it with
 * an exponent.
 */
export function isShortestNumberText(text: string): boolean {
  return (
    text.length <= 15 &&
    plainDecimal.test(text) &&
    text !== '-0' &&
    !(text.startsWith('0.000000') || text.startsWith('-0.000000'))
  );
}

function numberJson(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/**
 * Epoch microseconds from an ISO string (any offset, up to 9 fractional digits, truncated to 6),
 * a bigint of microseconds, or, losing nothing they hold, a Date or epoch milliseconds.
 */
export function toEpochMicros(value: unknown, where: string): bigint {
  if (typeof value === 'bigint') return value;
  if (value instanceof Date && !Number.isNaN(value.getTime()))
    return BigInt(value.getTime()) * 1000n;
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.round(value)) * 1000n;
  const micros = typeof value === 'string' ? parseEpochMicros(value) : undefined;
  if (micros !== undefined) return micros;
  throw new ItemCodecError(
    `${where} is not a timestamp: ${JSON.stringify(value)}`,
    'use ISO-8601, e.g. 2026-03-01T12:00:00Z',
  );
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as items and lookups report times. */
export function microsToIso(micros: bigint): string {
  return formatMicros(micros);
}

function toIsoMicros(value: unknown, where: string): string {
  return microsToIso(toEpochMicros(value, where));
}
