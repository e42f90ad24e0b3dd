import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { signedDynamoDbHeaders } from '../../../lib/online/dynamodb-batch-get/sign-request.ts';

const bytes = (data: string | ArrayBuffer | ArrayBufferView) =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** node:crypto as the Sha256 constructor the SDK's signer takes. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.hash.update(bytes(data));
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session/token+with=chars',
};

describe('signedDynamoDbHeaders (aws4)', () => {
  it.each([
    ['DynamoDB’s regional endpoint', 'https://dynamodb.eu-west-1.amazonaws.com'],
    ['a local endpoint with a port', 'http://127.0.0.1:8123'],
  ])('signs as the AWS SDK’s own SigV4 signer does, for %s', async (_, url) => {
    const endpoint = new URL(url);
    const body = JSON.stringify({ RequestItems: { t: { Keys: [{ pk: { S: 'v1#C1' } }] } } });
    const headers = signedDynamoDbHeaders(
      endpoint,
      'eu-west-1',
      credentials,
      'BatchGetItem',
      body,
      '20261130T101500Z',
    );
    const { Authorization: authorization, ...signedOnes } = headers;
    const sdkSigner = new SignatureV4({
      service: 'dynamodb',
      region: 'eu-west-1',
      credentials,
      sha256: Sha256,
      applyChecksum: false,
    });
    const sdkSigned = await sdkSigner.sign(
      {
        method: 'POST',
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        path: '/',
        headers: Object.fromEntries(
          Object.entries(signedOnes).map(([name, value]) => [name.toLowerCase(), value]),
        ),
        body,
      },
      { signingDate: new Date('2026-11-30T10:15:00Z') },
    );
    expect(authorization).toBe(sdkSigned.headers.authorization);
    expect(headers['X-Amz-Security-Token']).toBe(credentials.sessionToken);
    expect(headers.Host).toBe(endpoint.host);
  });
});
