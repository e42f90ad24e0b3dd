import { z } from 'zod';
import type { IssueCollector } from './schema-parts.ts';

/** A Kinesis Data Stream the stack creates for the source. */
export interface CreatedKinesisStreamInput {
  create: true;
  /** Provisioned shards (1 to 500), or `'on-demand'` capacity. Default 1. */
  shards?: number | 'on-demand';
  /** How long the stream keeps records, 24 to 8760 hours. Default 24. */
  retentionHours?: number;
}

/** An existing Kinesis Data Stream the stack reads (it does not own it). */
export interface ImportedKinesisStreamInput {
  streamArn: string;
  /**
   * The customer-managed KMS key the stream is encrypted with (same region), so the stream
   * function may decrypt with it. Leave out for an unencrypted stream or `alias/aws/kinesis`.
   */
  kmsKeyArn?: string;
}

/** `stream` of defineSource: rows arriving on a stream, one JSON row per record. */
export interface SourceStreamInput {
  kinesis: CreatedKinesisStreamInput | ImportedKinesisStreamInput;
}

/** The same after validation, defaults filled in. */
export type SourceStream = {
  readonly kinesis:
    | {
        readonly create: true;
        readonly shards: number | 'on-demand';
        readonly retentionHours: number;
      }
    | { readonly streamArn: string; readonly kmsKeyArn?: string };
};

export const maxStreamShards = 500;
export const streamRetentionHours = { min: 24, max: 8760, default: 24 } as const;

const streamArnPattern =
  /^arn:aws[a-z-]*:kinesis:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:stream\/[a-zA-Z0-9_.-]{1,128}$/;

// A key ARN (a UUID or a multi-Region `mrk-` id), not an alias: IAM grants name the key itself.
const kmsKeyArnPattern =
  /^arn:aws[a-z-]*:kms:([a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:key\/(?:mrk-)?[a-f0-9-]{32,36}$/;

/**
 * The field's shape; which combinations are allowed is `checkSourceStream`'s job, so each
 * mistake (both create and an ARN, a bad ARN, shards out of range) gets its own message.
 */
export const sourceStreamSchema = z.strictObject({
  kinesis: z.strictObject({
    create: z.boolean({ error: 'must be true (create the stream) or left out' }).optional(),
    // Checked by checkSourceStream: a union's own message would only name 'on-demand'.
    shards: z.unknown().optional(),
    retentionHours: z.number({ error: 'must be a whole number of hours' }).optional(),
    streamArn: z.string({ error: 'must be the ARN of a Kinesis data stream' }).optional(),
    kmsKeyArn: z.string({ error: 'must be the ARN of a KMS key' }).optional(),
  }),
});

/** Checks a parsed `stream` and fills its defaults; problems go to `issues`. */
export function checkSourceStream(
  stream: z.infer<typeof sourceStreamSchema>,
  issues: IssueCollector,
): SourceStream | undefined {
  const { create, shards, retentionHours, streamArn, kmsKeyArn } = stream.kinesis;
  let problems = 0;
  const problem = (name: string, message: string, hint: string) => {
    problems += 1;
    issues.add(name ? `stream.kinesis.${name}` : 'stream.kinesis', message, hint);
  };
  if (streamArn !== undefined) {
    if (create !== undefined)
      problem(
        'create',
        'is given with streamArn: a stream is either created by fstore or an existing one',
        'keep create: true (fstore creates and owns the stream) or streamArn (an existing stream), not both',
      );
    for (const [name, value] of [
      ['shards', shards],
      ['retentionHours', retentionHours],
    ] as const)
      if (value !== undefined)
        problem(
          name,
          'applies to a stream fstore creates, not to the existing stream of streamArn',
          `remove ${name}; change it on the existing stream itself`,
        );
    if (!streamArnPattern.test(streamArn))
      problem(
        'streamArn',
        `"${streamArn}" is not the ARN of a Kinesis data stream`,
        'use arn:aws:kinesis:<region>:<account>:stream/<name>',
      );
    if (kmsKeyArn !== undefined) checkKmsKeyArn(kmsKeyArn, streamArn, problem);
    if (problems > 0) return undefined;
    return { kinesis: { streamArn, ...(kmsKeyArn !== undefined ? { kmsKeyArn } : {}) } };
  }
  if (kmsKeyArn !== undefined)
    problem(
      'kmsKeyArn',
      'applies to the existing stream of streamArn; a stream fstore creates uses alias/aws/kinesis',
      'remove kmsKeyArn, or name the existing stream with streamArn',
    );
  if (create !== true) {
    problem(
      create === undefined ? '' : 'create',
      create === undefined
        ? 'names no stream: neither create: true nor streamArn'
        : 'is false and no streamArn is given, so there is no stream',
      'set create: true (fstore creates the stream) or streamArn (an existing stream)',
    );
    return undefined;
  }
  if (shards !== undefined && shards !== 'on-demand' && typeof shards !== 'number')
    problem(
      'shards',
      `must be a whole number of shards or 'on-demand', got ${JSON.stringify(shards)}`,
      `use 1 to ${maxStreamShards} shards, or 'on-demand' for a stream that scales itself`,
    );
  else if (typeof shards === 'number' && !wholeIn(shards, 1, maxStreamShards))
    problem(
      'shards',
      `${shards} is not a whole number from 1 to ${maxStreamShards}`,
      `use 1 to ${maxStreamShards} shards, or 'on-demand' for a stream that scales itself`,
    );
  const { min, max } = streamRetentionHours;
  if (retentionHours !== undefined && !wholeIn(retentionHours, min, max))
    problem(
      'retentionHours',
      `${retentionHours} is not a whole number of hours from ${min} to ${max} (Kinesis' limits)`,
      `use ${min} (one day) to ${max} (one year)`,
    );
  if (problems > 0) return undefined;
  return {
    kinesis: {
      create: true,
      shards: (shards as number | 'on-demand' | undefined) ?? 1,
      retentionHours: retentionHours ?? streamRetentionHours.default,
    },
  };
}

function checkKmsKeyArn(
  kmsKeyArn: string,
  streamArn: string,
  problem: (name: string, message: string, hint: string) => void,
): void {
  const keyRegion = kmsKeyArnPattern.exec(kmsKeyArn)?.[1];
  if (keyRegion === undefined) {
    problem(
      'kmsKeyArn',
      `"${kmsKeyArn}" is not the ARN of a KMS key`,
      'use arn:aws:kms:<region>:<account>:key/<key id> (the key itself, not an alias)',
    );
    return;
  }
  const streamRegion = streamArn.split(':')[3];
  if (streamArnPattern.test(streamArn) && streamRegion !== keyRegion)
    problem(
      'kmsKeyArn',
      `is in ${keyRegion}, the stream in ${streamRegion}: Kinesis encrypts with a key of its own region`,
      'use the key the stream is encrypted with (aws kinesis describe-stream-summary shows its KeyId)',
    );
}

function wholeIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}
