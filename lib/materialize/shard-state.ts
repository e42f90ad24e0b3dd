import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { HintedError } from '../hinted-error.ts';
import { itemAttributes } from '../online/item-codec.ts';
import { type Checkpoint, LeaseLostError, stateKey } from './materialization-state.ts';
import type { ShardProgress } from './shard-plan.ts';
import type { UnloadManifest } from './unload-manifest.ts';

/** A shard checkpoint in the state item that does not read back (edited by hand, a bug). */
export class ShardCheckpointError extends HintedError {
  override name = 'ShardCheckpointError';
}

/** A sharded run's checkpoint: the run's window and plan, and its number of shards. */
export type ShardedCheckpoint = Checkpoint & {
  readonly shards: number;
  /**
   * On AWS: the run's UNLOAD folder in the offline bucket, which its shard writers read; set
   * by the execution that unloads (sharded-run.ts).
   */
  readonly unloadPrefix?: string;
  /**
   * What that UNLOAD wrote, per shard, recorded by the controller's poll when it succeeded:
   * writers and a resumed run check the folder still holds it (unload-manifest.ts).
   */
  readonly unloaded?: UnloadManifest;
};

/** The shard count of a run's checkpoint (1 for a run that is not sharded). */
export function shardsOf(checkpoint: Checkpoint | undefined): number {
  const shards = (checkpoint as Partial<ShardedCheckpoint> | undefined)?.shards;
  return typeof shards === 'number' && shards > 1 ? shards : 1;
}

// The attributes of the state item MaterializationStateStore keeps (materialization-state.ts).
const leaseOwner = 'lease_owner';
const leaseExpiresAt = 'lease_expires_at';
const checkpointAttribute = 'checkpoint';
const shardAttribute = (shard: number) => `shard_${shard}`;
const shardPattern = /^shard_(\d+)$/;

/**
 * Each shard's checkpoint of a sharded run, one attribute per shard (`shard_<i>`) of the view's
 * state item, so every change stays conditional on the run's lease, as the run's own checkpoint
 * is: a run whose lease was taken over cannot move a shard of the run that took over. Shards
 * update their own attribute concurrently (DynamoDB applies each update to the item atomically).
 */
export class ShardStateStore {
  private readonly key: Record<string, AttributeValue>;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = { [itemAttributes.key]: { S: stateKey(keyPrefix) } };
  }

  /** The shard checkpoints stored in the state item, by shard. */
  async read(): Promise<Record<number, ShardProgress>> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.key, ConsistentRead: true }),
    );
    const shards: Record<number, ShardProgress> = {};
    for (const [name, value] of Object.entries(Item ?? {})) {
      const match = shardPattern.exec(name);
      if (match && value.S) shards[Number(match[1])] = this.parse(name, value.S);
    }
    return shards;
  }

  /** One shard checkpoint, or a refusal naming the item and attribute and the way out. */
  private parse(name: string, text: string): ShardProgress {
    let progress: Partial<ShardProgress> | undefined;
    try {
      progress = JSON.parse(text) as Partial<ShardProgress>;
    } catch {
      progress = undefined;
    }
    if (
      typeof progress?.runId === 'string' &&
      typeof progress.shard === 'number' &&
      typeof progress.counts === 'object' &&
      progress.counts !== null
    )
      return progress as ShardProgress;
    const key = this.key[itemAttributes.key]?.S;
    throw new ShardCheckpointError(
      `${name} of the materialization state item ${key} is not a shard checkpoint (${JSON.stringify(text.slice(0, 80))}); nothing was written`,
      `remove it (UpdateExpression "REMOVE ${name}" on that item of the online table) and run again: that shard then starts over from its first key, and rows written again change nothing (writes are conditional)`,
    );
  }

  /**
   * Records a new sharded run's checkpoint and removes the shard checkpoints of an earlier run
   * (`stale`) in the same update, so a shard never resumes from another run's key.
   */
  async start(
    owner: string,
    leaseMs: number,
    checkpoint: ShardedCheckpoint,
    stale: readonly number[],
  ): Promise<void> {
    const names: Record<string, string> = { '#cp': checkpointAttribute, '#x': leaseExpiresAt };
    for (const shard of stale) names[`#s${shard}`] = shardAttribute(shard);
    const remove = stale.length > 0 ? ` REMOVE ${stale.map((s) => `#s${s}`).join(', ')}` : '';
    await this.update(owner, `SET #cp = :cp, #x = :x${remove}`, names, {
      ':cp': { S: JSON.stringify(checkpoint) },
      ':x': { N: String(this.now() + leaseMs) },
    });
  }

  /** Records one shard's progress and extends the run's lease. */
  async record(owner: string, leaseMs: number, progress: ShardProgress): Promise<void> {
    await this.update(
      owner,
      'SET #s = :s, #x = :x',
      { '#s': shardAttribute(progress.shard), '#x': leaseExpiresAt },
      { ':s': { S: JSON.stringify(progress) }, ':x': { N: String(this.now() + leaseMs) } },
    );
  }

  /**
   * Removes a finished run's shard checkpoints, unless a run holds the lease or has a
   * checkpoint again (then they are its own, or it removes them when it starts).
   */
  async clearFinished(shards: readonly number[]): Promise<void> {
    if (shards.length === 0) return;
    const names: Record<string, string> = { '#o': leaseOwner, '#cp': checkpointAttribute };
    for (const shard of shards) names[`#s${shard}`] = shardAttribute(shard);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key,
          UpdateExpression: `REMOVE ${shards.map((s) => `#s${s}`).join(', ')}`,
          ConditionExpression: 'attribute_not_exists(#o) AND attribute_not_exists(#cp)',
          ExpressionAttributeNames: names,
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private async update(
    owner: string,
    expression: string,
    names: Record<string, string>,
    values: Record<string, AttributeValue>,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key,
          UpdateExpression: expression,
          ConditionExpression: '#o = :owner',
          ExpressionAttributeNames: { ...names, '#o': leaseOwner },
          ExpressionAttributeValues: { ...values, ':owner': { S: owner } },
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
