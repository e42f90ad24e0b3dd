import { EntityKeyError, maxPartitionKeyBytes } from '../entity-key.ts';
import { dayMicros, hourMicros, minuteMicros, tileStart } from './tile-sizes.ts';

/**
 * Where tiles live (ADR 0020): a tile of size S is an entry of the block item of its size that
 * holds it; a minute's raw rows and its own tile are one minute item. `prefix` is the view
 * version and entity key part of the online key (`<view>#<version>#<entity key>`). The suffix
 * starts with `|`, which entity keys escape in values (entity-key.ts) and put only before a
 * `name=`: no entity's item key ends like a tile item's (`#` is not escaped in values).
 */
export const blockMicros = (size: bigint): bigint => {
  if (size === minuteMicros) return hourMicros;
  if (size === hourMicros) return dayMicros;
  if (size === dayMicros) return 32n * dayMicros;
  throw new RangeError(`${size} µs is not a tile size`);
};

/** The tile size one level coarser, or undefined for days. */
export const coarserSize = (size: bigint): bigint | undefined =>
  size === minuteMicros ? hourMicros : size === hourMicros ? dayMicros : undefined;

export const minuteItemKey = (prefix: string, minuteStart: bigint): string =>
  `${prefix}|raw#${minuteStart}`;

export function blockItemKey(prefix: string, size: bigint, tile: bigint): string {
  const block = blockMicros(size);
  return `${prefix}|tiles#${size / minuteMicros}m#${tileStart(tile, block)}`;
}

/**
 * The entity's head item: a token the writer changes after every change to the entity's tile
 * items (`writeTokenAttribute`), never reused, so a serving process may keep the items it has
 * read for as long as the token it read with them stays the same (ADR 0020, "Cached tiles").
 */
export const headItemKey = (prefix: string): string => `${prefix}|head`;
export const writeTokenAttribute = 'w';

/** The block item's attribute holding tile `start` (top-level: DynamoDB sets it atomically). */
export const tileAttribute = (start: bigint): string => `t${start}`;
export const isTileAttribute = (name: string): boolean => /^t-?\d+$/.test(name);

/** The minute item's attribute holding its raw rows (with their ids), as tagged JSON text. */
export const minuteRowsAttribute = 'r';

/** The longest suffix a tile item key adds to its prefix: a 32-day block of a 20-character start. */
export const longestTileSuffixBytes = '|tiles#1440m#'.length + '-9223372036854775808'.length;

/**
 * `prefix` (a tile-fed view's online key for one entity) when every tile item key built on it
 * fits DynamoDB's partition key limit; an EntityKeyError (a client's 400) otherwise, before
 * anything is read or written: the view's own item may fit where its tile items do not.
 */
export function checkTilePrefix(prefix: string): string {
  const bytes = Buffer.byteLength(prefix, 'utf8');
  if (bytes + longestTileSuffixBytes > maxPartitionKeyBytes)
    throw new EntityKeyError(
      `entity key is ${bytes} bytes with its view prefix; an aggregation view with onlineTiles keeps tile items under keys up to ${longestTileSuffixBytes} bytes longer, and DynamoDB allows ${maxPartitionKeyBytes}`,
      'use shorter join-key values',
    );
  return prefix;
}
