import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { HintedError } from '../../hinted-error.ts';
import { itemAttributes } from '../item-codec.ts';
import { DamagedTileItemError } from './damaged-tile-item.ts';
import {
  blockItemKey,
  blockMicros,
  coarserSize,
  headItemKey,
  isTileAttribute,
  minuteItemKey,
  minuteRowsAttribute,
  tileAttribute,
  writeTokenAttribute,
} from './tile-items.ts';
import { dayMicros, minuteMicros, tileStart } from './tile-sizes.ts';
import {
  emptyTileState,
  mergeTileStates,
  type SumKind,
  stateOfEvent,
  type TileState,
} from './tile-state.ts';
import {
  decodeTileJson,
  decodeTileStates,
  encodeTileJson,
  encodeTileStates,
} from './tile-state-codec.ts';
import type { TileValue } from './tile-values.ts';

/** One source row for an aggregation view's tiles, with the id that makes its write idempotent. */
export interface TileRow {
  /** `<push id>:<row index>` for a pushed row, `<shard id>:<sequence number>` for a stream record. */
  readonly id: string;
  readonly eventMicros: bigint;
  readonly createdMicros: bigint | null;
  /** `fstore_seq`: null for a pushed row locally, the push time's clock sequence on AWS. */
  readonly seq: bigint | null;
  /** A pushed row: its push log's key, which orders it as its ingest will (IngestOrder). */
  readonly pushLog?: string;
  /** The aggregated columns' values. */
  readonly values: Readonly<Record<string, TileValue | null>>;
}

export interface TileWriteTarget {
  readonly client: DynamoDBClient;
  readonly table: string;
  /** `<view>#<version>#<entity key>`, the online key of the view version and entity. */
  readonly prefix: string;
  /** How each aggregated column is summed. */
  readonly sumKinds: Readonly<Record<string, SumKind>>;
  readonly widestWindowSeconds: number;
  /** Read-modify-write attempts on one minute item before giving up (default 20). */
  readonly attempts?: number;
  /** Between two attempts on a contended minute item (default: a timer). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock, epoch microseconds: a row no window can reach any more is not written. */
  readonly nowMicros?: () => bigint;
}

/**
 * A minute item other writers changed under every attempt (one busy entity pushed to
 * concurrently): the store is contended, not the request wrong, so a push answers 503 and a
 * retry is safe (the row's id makes it count once).
 */
export class TileContentionError extends HintedError {
  override name = 'TileContentionError';
}

/** Full jitter, doubling from 10 ms up to 1.28 s: contending writers spread out. */
const contentionBackoffMs = (attempt: number) => Math.random() * 10 * 2 ** Math.min(attempt, 7);

type States = Record<string, TileState>;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
interface Versioned {
  readonly states: States;
  readonly version: number;
}

const version = 'ver';
const statesAttribute = 's';

const microsPerSecond = 1_000_000n;
const daySeconds = 86_400n;

/**
 * Adds `row` to its minute item and carries the change up to the hour, day and 32-day blocks
 * (ADR 0020, "Writes"). Each step is one conditional single-item write, so it runs on DynamoDB
 * and dynalite alike: the minute item takes the row only if its id is not there yet (a retried
 * push or a replayed record changes nothing), and a block takes a tile's state only from a
 * newer version of it, so a step repeated or run late never undoes a newer one. A row already
 * recorded still carries its minute up: a writer that died after the first step is completed
 * by the retry. With a clock, a row older than the widest window is not written (`tooOld`).
 */
export async function applyRowToTiles(
  target: TileWriteTarget,
  row: TileRow,
): Promise<{ readonly applied: boolean; readonly tooOld?: true }> {
  const now = target.nowMicros?.();
  // At t = now a window covers (now - W, now]: a row at or before now - widest is in none.
  if (
    now !== undefined &&
    row.eventMicros <= now - BigInt(target.widestWindowSeconds) * microsPerSecond
  )
    return { applied: false, tooOld: true };
  const minute = await recordRowInMinuteItem(target, row);
  let size: bigint | undefined = minuteMicros;
  let child: Versioned = minute;
  let start = tileStart(row.eventMicros, minuteMicros);
  while (size !== undefined) {
    child = await carryTileUp(target, size, start, child);
    size = coarserSize(size);
    if (size !== undefined) start = tileStart(start, size);
  }
  await renewWriteToken(target, row.eventMicros);
  return { applied: minute.applied };
}

/**
 * Step 3: the entity's head item takes a new write token, after every item the row changed
 * (also when the row was already counted: a writer that died before this step is completed by
 * the retry). Serving processes keep tile items only under the token they read with them.
 */
export async function renewWriteToken(target: TileWriteTarget, eventMicros: bigint): Promise<void> {
  const widest = blockMicros(dayMicros);
  await target.client.send(
    new UpdateItemCommand({
      TableName: target.table,
      Key: { [itemAttributes.key]: { S: headItemKey(target.prefix) } },
      UpdateExpression: 'SET #w = :w, #exp = :exp',
      ExpressionAttributeNames: { '#w': writeTokenAttribute, '#exp': itemAttributes.expiresAt },
      ExpressionAttributeValues: {
        ':w': { S: randomUUID() },
        // As long as the row's longest-lived item; a head gone earlier only stops caching.
        ':exp': { N: expiresAt(tileStart(eventMicros, widest) + widest, target) },
      },
    }),
  );
}

/** Step 1: the row's minute item takes the row (its raw event and its minute tile), once. */
export async function recordRowInMinuteItem(
  target: TileWriteTarget,
  row: TileRow,
): Promise<Versioned & { readonly applied: boolean }> {
  const minute = tileStart(row.eventMicros, minuteMicros);
  const key = { [itemAttributes.key]: { S: minuteItemKey(target.prefix, minute) } };
  for (let attempt = 0; attempt < (target.attempts ?? 20); attempt++) {
    const { Item: item } = await target.client.send(
      new GetItemCommand({ TableName: target.table, Key: key, ConsistentRead: true }),
    );
    const where = `minute item ${key[itemAttributes.key].S}`;
    // An item only materialization wrote (its base rows) has no version yet.
    const stored = item?.[version] === undefined ? undefined : Number(item[version].N);
    const states = item ? decodeTileStates(item[statesAttribute]?.S ?? '{}', where) : {};
    const rows = item ? rowsOf(item, where) : [];
    if (stored !== undefined && rows.some((r) => r.id === row.id))
      return { states, version: stored, applied: false };
    const merged = addRow(states, row, target.sumKinds);
    try {
      // An update, not a put: the base materialization keeps in the same item stays.
      await target.client.send(
        new UpdateItemCommand({
          TableName: target.table,
          Key: key,
          UpdateExpression: 'SET #ver = :next, #s = :s, #r = :r, #exp = :exp',
          ConditionExpression: stored === undefined ? 'attribute_not_exists(#ver)' : '#ver = :ver',
          ExpressionAttributeNames: {
            '#ver': version,
            '#s': statesAttribute,
            '#r': minuteRowsAttribute,
            '#exp': itemAttributes.expiresAt,
          },
          ExpressionAttributeValues: {
            ':next': { N: String((stored ?? 0) + 1) },
            ':s': { S: encodeTileStates(merged) },
            ':r': { S: encodeTileJson([...rows, row]) },
            ':exp': { N: expiresAt(minute + minuteMicros, target) },
            ...(stored === undefined ? {} : { ':ver': { N: String(stored) } }),
          },
        }),
      );
      return { states: merged, version: (stored ?? 0) + 1, applied: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    await (target.sleep ?? defaultSleep)(contentionBackoffMs(attempt));
  }
  throw new TileContentionError(
    `minute item ${minuteItemKey(target.prefix, minute)} changed under every one of ${target.attempts ?? 20} attempts to add row ${row.id}`,
    'other writers of the same entity and minute kept changing it; retry (the row counts once)',
  );
}

/**
 * Step 2: the block holding tile `start` of `size` takes `tile` (its states at its version)
 * unless it holds that version or a newer one; returns the block's whole state (the tile one
 * size coarser) at the block's version.
 */
export async function carryTileUp(
  target: TileWriteTarget,
  size: bigint,
  start: bigint,
  tile: Versioned,
): Promise<Versioned> {
  const key = { [itemAttributes.key]: { S: blockItemKey(target.prefix, size, start) } };
  const blockEnd = tileStart(start, blockMicros(size)) + blockMicros(size);
  let item: Record<string, AttributeValue> | undefined;
  try {
    ({ Attributes: item } = await target.client.send(
      new UpdateItemCommand({
        TableName: target.table,
        Key: key,
        UpdateExpression: 'SET #t = :tile, #exp = :exp ADD #ver :one',
        ConditionExpression: 'attribute_not_exists(#t) OR #t.#v < :v',
        ExpressionAttributeNames: {
          '#t': tileAttribute(start),
          '#v': 'v',
          '#ver': version,
          '#exp': itemAttributes.expiresAt,
        },
        ExpressionAttributeValues: {
          ':tile': {
            M: { v: { N: String(tile.version) }, s: { S: encodeTileStates(tile.states) } },
          },
          ':v': { N: String(tile.version) },
          ':one': { N: '1' },
          ':exp': { N: expiresAt(blockEnd, target) },
        },
        ReturnValues: 'ALL_NEW',
      }),
    ));
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    ({ Item: item } = await target.client.send(
      new GetItemCommand({ TableName: target.table, Key: key, ConsistentRead: true }),
    ));
  }
  if (!item) throw new Error(`block item ${key[itemAttributes.key].S} vanished after its update`);
  return {
    states: blockStates(item, `block item ${key[itemAttributes.key].S}`),
    version: Number(item[version]?.N),
  };
}

/** The merged states of every tile a block item holds: the tile one size coarser. */
export function blockStates(item: Record<string, AttributeValue>, where: string): States {
  let merged: States = {};
  for (const [name, value] of Object.entries(item)) {
    if (!isTileAttribute(name)) continue;
    const states = decodeTileStates(value.M?.s?.S ?? '', `${where} ${name}`);
    merged = mergeStates(merged, states);
  }
  return merged;
}

function addRow(states: States, row: TileRow, sumKinds: Readonly<Record<string, SumKind>>): States {
  const added: States = {};
  for (const [column, kind] of Object.entries(sumKinds)) {
    const value = row.values[column] ?? null;
    added[column] = stateOfEvent(kind, { ...row, value });
  }
  return mergeStates(states, added);
}

function mergeStates(a: States, b: States): States {
  const merged: States = { ...a };
  for (const [column, state] of Object.entries(b))
    merged[column] = mergeTileStates(merged[column] ?? emptyTileState(state.sumKind), state);
  return merged;
}

function rowsOf(item: Record<string, AttributeValue>, where: string): TileRow[] {
  const rows = decodeTileJson(item[minuteRowsAttribute]?.S ?? '[]', `the rows of ${where}`);
  if (!Array.isArray(rows))
    throw new DamagedTileItemError(`the rows of ${where} are damaged: not a list`);
  return rows as TileRow[];
}

/** Seconds: the end of what the item holds, plus the widest window, plus a day of replays. */
export function expiresAt(
  endMicros: bigint,
  target: Pick<TileWriteTarget, 'widestWindowSeconds'>,
): string {
  const endSeconds = (endMicros + microsPerSecond - 1n) / microsPerSecond;
  return String(endSeconds + BigInt(target.widestWindowSeconds) + daySeconds);
}
