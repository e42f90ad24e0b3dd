/**
 * The name of the Kinesis stream fstore creates for a source declaring `stream: { kinesis: {
 * create: true } }`: the construct names it so, and producers' policies derive its ARN from it.
 */
export function kinesisStreamName(env: string, source: string): string {
  return `fstore-${env}-${source}`;
}
