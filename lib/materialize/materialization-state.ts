import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { HintedError } from '../hinted-error.ts';
import { itemAttributes } from '../online/item-codec.ts';
import type { NewIngestFilter } from '../sql/render-new-ingests.ts';
import type { IngestCoverage } from './ingest-coverage.ts';
import { stateKey } from './materialization-state-key.ts';

/**
 * What a run reads: `full` (every row up to now: a first run, a changed definition, or a state
 * that tracks no ingests yet), `incremental` (rows of ingests the last run had not seen, and
 * rows dated since it), `backfill` (a range), or `lateness` (a store without commit records:
 * rows dated after the watermark minus the allowed lateness).
 */
export interface RunScope {
  readonly kind: 'full' | 'incremental' | 'backfill' | 'lateness';
  /** Why a run that could have been incremental is full. */
  readonly reason?: string;
  /** Ingests committed since the last run, and their rows (incremental runs). */
  readonly newIngests?: number;
  readonly newIngestRows?: number;
}

/** Where a run resumes: its window, the last join keys fully written, and counts so far. */
export interface Checkpoint {
  readonly runId: string;
  readonly startedAt: string;
  readonly window: {
    readonly after?: string;
    readonly from?: string;
    readonly until: string;
    /** An incremental run: the rows of the ingests it reads besides those dated after `after`. */
    readonly newIngests?: NewIngestFilter;
  };
  /** True for a backfill of an explicit range, which leaves the watermark alone. */
  readonly backfill: boolean;
  readonly scope?: RunScope;
  /** The ingests covered once this run completes; recorded only then. */
  readonly coverage?: IngestCoverage;
  /** The definition fingerprint the run materializes (see definitionFingerprint). */
  readonly definition?: string;
  readonly afterKey?: readonly (string | number)[];
  readonly counts: RunCounts;
  readonly newestEventTs?: string;
  /** NULLs per feature among the rows read so far, for the view's `quality.maxNullPercent`. */
  readonly nullCounts?: Readonly<Record<string, number>>;
  /** The run writes the tiles' base of every entity it reads, from its first chunk on. */
  readonly tiles?: boolean;
}

export interface RunCounts {
  readonly rowsRead: number;
  readonly written: number;
  readonly skippedAsOlder: number;
  readonly rejected: number;
  /** Items deleted because they held a winner this run quarantines (absent when none). */
  readonly deleted?: number;
}

export interface LastRun {
  readonly runId: string;
  readonly status: 'succeeded' | 'failed' | 'paused';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly window: Checkpoint['window'];
  readonly scope?: RunScope;
  readonly counts: RunCounts;
  readonly durationMs: number;
  readonly quarantine?: string;
  /** View quality rules the run broke (`quality.minRows`, `quality.maxNullPercent`). */
  readonly qualityIssues?: readonly string[];
  readonly error?: string;
}

/** One view version's materialization state, kept in the online table beside its items. */
export interface MaterializationState {
  /** Event time up to which every row has been written (the end of the last full window). */
  readonly watermark?: string;
  /** Newest event time written so far, for the freshness lag. */
  readonly newestEventTs?: string;
  /** The committed ingests whose rows are written (moves with the watermark). */
  readonly ingests?: IngestCoverage;
  /** Fingerprint of the definition the watermark and ingests are for; a change means a full run. */
  readonly definition?: string;
  /**
   * A tile-fed view whose every entity has its tiles' base (ADR 0020, "Backfill"): set by a
   * full run that wrote bases from its first chunk, kept by each later run that writes them,
   * removed by a run that does not (so a view gaining `onlineTiles` again is backfilled again).
   */
  readonly tileBases?: boolean;
  readonly checkpoint?: Checkpoint;
  readonly lastRun?: LastRun;
  readonly lease?: { readonly owner: string; readonly expiresAt: number };
}

export class MaterializationBusyError extends HintedError {}
/** Named explicitly: the sharded state machine does not retry it by this name. */
export class LeaseLostError extends HintedError {
  override name = 'LeaseLostError';
}

export { stateKey };

const s = {
  watermark: 'watermark',
  newestEventTs: 'newest_event_ts',
  ingests: 'ingests',
  definition: 'definition',
  tileBases: 'tile_bases',
  checkpoint: 'checkpoint',
  lastRun: 'last_run',
  leaseOwner: 'lease_owner',
  leaseExpiresAt: 'lease_expires_at',
} as const;

/**
 * Reads and changes one view's state item. Every change after `acquire` is conditional on this
 * owner still holding the lease, so a run whose lease expired and was taken over cannot move
 * the checkpoint or the watermark of the run that took over.
 */
export class MaterializationStateStore {
  private readonly key: Record<string, AttributeValue>;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = { [itemAttributes.key]: { S: stateKey(keyPrefix) } };
  }

  async read(): Promise<MaterializationState> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.key, ConsistentRead: true }),
    );
    return Item ? decodeState(Item) : {};
  }

  /**
   * Takes the lease for `leaseMs`, or throws MaterializationBusyError naming the holder. A
   * holder that `isGone` says no longer runs (a local process that was killed) is taken over
   * at once instead of waiting for its lease to expire.
   */
  async acquire(
    owner: string,
    leaseMs: number,
    isGone: (holder: string) => boolean = () => false,
  ): Promise<MaterializationState> {
    try {
      return await this.take(owner, leaseMs, 'attribute_not_exists(#o) OR #x < :now OR #o = :o');
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const { lease } = await this.read();
      if (lease && isGone(lease.owner)) {
        try {
          return await this.take(owner, leaseMs, '#o = :stale', lease.owner);
        } catch (retry) {
          if (!(retry instanceof ConditionalCheckFailedException)) throw retry;
        }
      }
      throw new MaterializationBusyError(
        `another materialization of this view is running (${lease?.owner ?? 'unknown'}, lease until ${lease ? new Date(lease.expiresAt).toISOString() : '?'})`,
        'wait for it to finish; a crashed run releases its lease when it expires',
      );
    }
  }

  private async take(
    owner: string,
    leaseMs: number,
    condition: string,
    stale?: string,
  ): Promise<MaterializationState> {
    const now = this.now();
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key,
        UpdateExpression: 'SET #o = :o, #x = :x',
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#o': s.leaseOwner, '#x': s.leaseExpiresAt },
        ExpressionAttributeValues: {
          ':o': { S: owner },
          ':x': { N: String(now + leaseMs) },
          ...(stale === undefined ? { ':now': { N: String(now) } } : { ':stale': { S: stale } }),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return decodeState(Attributes ?? {});
  }

  /** Records progress and extends the lease. */
  async checkpoint(owner: string, leaseMs: number, checkpoint: Checkpoint): Promise<void> {
    await this.update(owner, 'SET #cp = :cp, #x = :x', {
      names: { '#cp': s.checkpoint, '#x': s.leaseExpiresAt },
      values: {
        ':cp': { S: JSON.stringify(checkpoint) },
        ':x': { N: String(this.now() + leaseMs) },
      },
    });
  }

  /**
   * Ends a run: records it, moves the watermark and the ingest coverage when given (in the same
   * conditional update, so both move or neither), clears the checkpoint and lease.
   */
  async finish(
    owner: string,
    run: LastRun,
    advance: {
      watermark?: string;
      newestEventTs?: string;
      ingests?: IngestCoverage;
      definition?: string;
      /** Sets (true) or removes (false) the tile base mark; undefined leaves it. */
      tileBases?: boolean;
    },
  ): Promise<void> {
    const sets = ['#lr = :lr'];
    const names: Record<string, string> = {
      '#lr': s.lastRun,
      '#cp': s.checkpoint,
      '#x': s.leaseExpiresAt,
    };
    const values: Record<string, AttributeValue> = { ':lr': { S: JSON.stringify(run) } };
    if (advance.watermark) {
      sets.push('#w = :w');
      names['#w'] = s.watermark;
      values[':w'] = { S: advance.watermark };
    }
    if (advance.newestEventTs) {
      sets.push('#n = :n');
      names['#n'] = s.newestEventTs;
      values[':n'] = { S: advance.newestEventTs };
    }
    if (advance.ingests) {
      sets.push('#i = :i');
      names['#i'] = s.ingests;
      values[':i'] = { S: JSON.stringify(advance.ingests) };
    }
    if (advance.definition) {
      sets.push('#d = :d');
      names['#d'] = s.definition;
      values[':d'] = { S: advance.definition };
    }
    const removes = ['#cp', '#o', '#x'];
    if (advance.tileBases === true) {
      sets.push('#tb = :tb');
      values[':tb'] = { BOOL: true };
    }
    if (advance.tileBases !== undefined) names['#tb'] = s.tileBases;
    if (advance.tileBases === false) removes.push('#tb');
    await this.update(owner, `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`, {
      names,
      values,
    });
  }

  /** Gives the lease back and records why the run stopped, keeping the checkpoint to resume. */
  async release(owner: string, run: LastRun): Promise<void> {
    await this.update(owner, 'SET #lr = :lr REMOVE #o, #x', {
      names: { '#lr': s.lastRun, '#x': s.leaseExpiresAt },
      values: { ':lr': { S: JSON.stringify(run) } },
    });
  }

  /**
   * Gives the lease back and changes nothing else: for a holder that is not a run (an entity
   * delete holds it while it deletes the view's items), so the last run and checkpoint stay.
   */
  async releaseLease(owner: string): Promise<void> {
    await this.update(owner, 'REMOVE #o, #x', {
      names: { '#x': s.leaseExpiresAt },
      values: {},
    });
  }

  private async update(
    owner: string,
    expression: string,
    parts: { names: Record<string, string>; values: Record<string, AttributeValue> },
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key,
          UpdateExpression: expression,
          ConditionExpression: '#o = :owner',
          ExpressionAttributeNames: { ...parts.names, '#o': s.leaseOwner },
          ExpressionAttributeValues: { ...parts.values, ':owner': { S: owner } },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new LeaseLostError(
        `the materialization lease of ${owner} expired and another run took it over`,
        'raise the lease duration if runs stall longer than it between checkpoints',
      );
    }
  }
}

function decodeState(item: Record<string, AttributeValue>): MaterializationState {
  const text = (name: string) => item[name]?.S;
  const json = <T>(name: string): T | undefined => {
    const value = text(name);
    return value === undefined ? undefined : (JSON.parse(value) as T);
  };
  const owner = text(s.leaseOwner);
  const expiresAt = item[s.leaseExpiresAt]?.N;
  const watermark = text(s.watermark);
  const newestEventTs = text(s.newestEventTs);
  const ingests = json<IngestCoverage>(s.ingests);
  const definition = text(s.definition);
  const tileBases = item[s.tileBases]?.BOOL === true;
  const checkpoint = json<Checkpoint>(s.checkpoint);
  const lastRun = json<LastRun>(s.lastRun);
  return {
    ...(watermark ? { watermark } : {}),
    ...(newestEventTs ? { newestEventTs } : {}),
    ...(ingests ? { ingests } : {}),
    ...(definition ? { definition } : {}),
    ...(tileBases ? { tileBases } : {}),
    ...(checkpoint ? { checkpoint } : {}),
    ...(lastRun ? { lastRun } : {}),
    ...(owner && expiresAt ? { lease: { owner, expiresAt: Number(expiresAt) } } : {}),
  };
}
