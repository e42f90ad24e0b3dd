import { DamagedTileItemError } from './damaged-tile-item.ts';
import { hasWellFormedOrder } from './ingest-order.ts';
import type { SumKind, TileState } from './tile-state.ts';

/**
 * Tile states of a tile's columns as one JSON text for a DynamoDB S attribute: exact sums are
 * far beyond a DynamoDB number's 38 digits, so bigints travel as tagged decimal text, and
 * doubles DynamoDB or JSON cannot hold (NaN, infinities, -0) as tagged text too.
 */
export function encodeTileStates(states: Readonly<Record<string, TileState>>): string {
  return encodeTileJson(states);
}

/** Any value holding tile values (bigints, NaN, infinities, -0) as JSON text. */
export function encodeTileJson(data: unknown): string {
  return JSON.stringify(data, (_, value: unknown) => {
    if (typeof value === 'bigint') return { $big: value.toString() };
    if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0)))
      return { $num: Object.is(value, -0) ? '-0' : String(value) };
    return value;
  });
}

const sumKinds: readonly SumKind[] = ['integer', 'float', 'none'];

/** encodeTileStates' text back; a damaged text is a DamagedTileItemError naming `where`. */
export function decodeTileStates(text: string, where: string): Record<string, TileState> {
  const parsed = decodeTileJson(text, `the tile states of ${where}`);
  if (!isRecord(parsed))
    throw new DamagedTileItemError(
      `the tile states of ${where} are damaged: not an object of columns`,
    );
  for (const [column, state] of Object.entries(parsed))
    if (!isTileState(state))
      throw new DamagedTileItemError(`the tile state of column "${column}" in ${where} is damaged`);
  return parsed as Record<string, TileState>;
}

/** Whether a decoded value is a tile state as fstore writes one (the parts merging relies on). */
export function isTileState(value: unknown): value is TileState {
  if (!isRecord(value)) return false;
  const s = value as Partial<TileState>;
  return (
    sumKinds.includes(s.sumKind as SumKind) &&
    typeof s.sum === 'bigint' &&
    hasWellFormedOrder(s.last)
  );
}

/** A JSON object: not null, not a list. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTagged<K extends string>(value: unknown, tag: K): value is Record<K, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as Record<string, unknown>)[tag] === 'string'
  );
}

/** encodeTileJson's text back; a damaged text is a DamagedTileItemError naming `what`. */
export function decodeTileJson(text: string, what: string): unknown {
  let parsed: unknown;
  try {
    // A plain parse and one walk over the result: a reviver called for every value is slower.
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DamagedTileItemError(`${what} are damaged: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    return untag(parsed);
  } catch (error) {
    throw new DamagedTileItemError(`${what} are damaged: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Tagged bigints and doubles back to values, in place, innermost first (as a reviver would). */
function untag(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = untag(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const inner = record[key];
    const untagged = untag(inner);
    // As a data property: a key such as `__proto__` must not reach a setter.
    if (untagged !== inner)
      Object.defineProperty(record, key, {
        value: untagged,
        writable: true,
        enumerable: true,
        configurable: true,
      });
  }
  if (typeof record.$big === 'string' && isTagged(record, '$big')) return BigInt(record.$big);
  if (typeof record.$num === 'string' && isTagged(record, '$num'))
    return record.$num === '-0' ? -0 : Number(record.$num);
  return record;
}
