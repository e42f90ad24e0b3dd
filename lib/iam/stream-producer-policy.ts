import { kinesisStreamName } from '../push/kinesis-stream-name.ts';
import type { Registry, RegistrySource } from '../registry/index.ts';
import type { ArnScope, PolicyStatement } from './policy-statement.ts';

/** A producer policy was asked for a source without a stream: what is wrong, and the fix. */
export class NoStreamError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'NoStreamError';
  }
}

/** What a producer needs on a stream: write records, and read its summary (SDKs, the KPL). */
const kinesisActions = [
  'kinesis:DescribeStreamSummary',
  'kinesis:PutRecord',
  'kinesis:PutRecords',
] as const;

/**
 * A least-privilege policy for a producer writing to the Kinesis streams of `sources` (default
 * every source that declares one): `PutRecord`, `PutRecords` and `DescribeStreamSummary` on
 * each stream, a created stream's ARN derived from the environment (`fstore-<env>-<source>` in
 * `scope`), an imported one's as declared; and `kms:GenerateDataKey` on the customer-managed
 * keys of imported streams that name one (`kmsKeyArn`). A created stream uses the AWS-managed
 * `alias/aws/kinesis`, whose key policy already lets the account's Kinesis callers use it.
 */
export function streamProducerStatements(
  registry: Registry,
  env: string,
  scope: ArnScope,
  sources?: readonly string[],
): PolicyStatement[] {
  const chosen = streamSources(registry, sources);
  const streams = chosen.map((source) => streamArnOf(source, env, scope));
  const keys = chosen.flatMap((source) => {
    const kinesis = source.stream?.kinesis;
    return kinesis && 'kmsKeyArn' in kinesis && kinesis.kmsKeyArn ? [kinesis.kmsKeyArn] : [];
  });
  const unique = (values: readonly string[]) => [...new Set(values)].sort();
  return [
    { Effect: 'Allow', Action: [...kinesisActions], Resource: unique(streams) },
    ...(keys.length === 0
      ? []
      : [{ Effect: 'Allow' as const, Action: ['kms:GenerateDataKey'], Resource: unique(keys) }]),
  ];
}

function streamSources(registry: Registry, names?: readonly string[]): RegistrySource[] {
  const declare =
    'declare stream: { kinesis: { create: true } } (or { streamArn }) in its defineSource, then cdk deploy';
  if (names === undefined || names.length === 0) {
    const withStream = registry.sources.filter((s) => s.stream);
    if (withStream.length === 0)
      throw new NoStreamError(
        'no source declares a stream, so there is nothing for a stream producer to write to',
        `${declare}; producers without a stream push over HTTP (--for push)`,
      );
    return withStream;
  }
  return names.map((name) => {
    const source = registry.sources.find((s) => s.name === name);
    if (!source)
      throw new NoStreamError(
        `--source "${name}" is not a source`,
        `sources: ${registry.sources.map((s) => s.name).join(', ')}`,
      );
    if (!source.stream)
      throw new NoStreamError(
        `source "${name}" has no stream`,
        `${declare}; or let its producer push over HTTP (--for push --source ${name})`,
      );
    return source;
  });
}

function streamArnOf(source: RegistrySource, env: string, scope: ArnScope): string {
  const kinesis = source.stream?.kinesis;
  if (kinesis && 'streamArn' in kinesis) return kinesis.streamArn;
  return `arn:${scope.partition}:kinesis:${scope.region}:${scope.account}:stream/${kinesisStreamName(env, source.name)}`;
}
