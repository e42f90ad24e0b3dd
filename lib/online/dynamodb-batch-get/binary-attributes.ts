import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * DynamoDB's JSON protocol carries binary attributes (`B`, `BS`) as base64 text; the SDK's
 * AttributeValue type holds bytes. These convert between the two, at any depth of `M` and `L`.
 */

/** A JSON.stringify replacer writing bytes (Uint8Array, Buffer) as base64 text. */
export function bytesAsBase64(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Uint8Array ? Buffer.from(raw).toString('base64') : value;
}

/** Whether a response's text may hold a binary attribute (cheap test before walking the items). */
export const mayHoldBinary = (text: string): boolean => /"BS?":/.test(text);

/** Replaces, in place, the base64 text of every `B` and `BS` in these items by its bytes. */
export function decodeBinaryAttributes(items: readonly Record<string, AttributeValue>[]): void {
  for (const item of items) for (const value of Object.values(item)) decodeValue(value);
}

function decodeValue(value: AttributeValue): void {
  const raw = value as unknown as Record<string, unknown>;
  if (typeof raw.B === 'string') raw.B = bytes(raw.B);
  else if (Array.isArray(raw.BS))
    raw.BS = raw.BS.map((b) => (typeof b === 'string' ? bytes(b) : b));
  else if (value.M) decodeBinaryAttributes([value.M]);
  else if (value.L) for (const member of value.L) decodeValue(member);
}

const bytes = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));
