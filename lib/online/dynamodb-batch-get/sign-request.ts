import aws4 from 'aws4';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Set for temporary credentials (Lambda's are): sent as X-Amz-Security-Token and signed. */
  readonly sessionToken?: string;
}

/** The DynamoDB JSON protocol's headers of one operation: `DynamoDB_20120810.<operation>`. */
export const dynamoDbJsonHeaders = (operation: string) => ({
  'Content-Type': 'application/x-amz-json-1.0',
  'X-Amz-Target': `DynamoDB_20120810.${operation}`,
});

/**
 * The headers of a SigV4-signed DynamoDB POST of `body` to `endpoint` (aws4 does the signing:
 * Host, Content-Length, X-Amz-Date, X-Amz-Security-Token and Authorization are added).
 * `amzDate` (`YYYYMMDDTHHMMSSZ`) fixes the signing time; now when not given.
 */
export function signedDynamoDbHeaders(
  endpoint: URL,
  region: string,
  credentials: AwsCredentials,
  operation: string,
  body: string,
  amzDate?: string,
): Record<string, string> {
  const signed = aws4.sign(
    {
      host: endpoint.host,
      path: endpoint.pathname,
      method: 'POST',
      service: 'dynamodb',
      region,
      body,
      headers: {
        ...dynamoDbJsonHeaders(operation),
        ...(amzDate === undefined ? {} : { 'X-Amz-Date': amzDate }),
      },
    },
    credentials,
  );
  return Object.fromEntries(
    Object.entries(signed.headers ?? {}).map(([name, value]) => [name, String(value)]),
  );
}
