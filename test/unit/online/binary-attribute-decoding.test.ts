import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeBinaryAttributes,
  mayHoldBinary,
} from '../../../lib/online/dynamodb-batch-get/binary-attributes.ts';
import { signedBatchGet } from '../../../lib/online/dynamodb-batch-get/signed-batch-get.ts';
import {
  type DynamoDbFaultServer,
  ok,
  startDynamoDbFaultServer,
} from '../../helpers/dynamodb-fault-server.ts';

const bytesOf = (...values: number[]) => new Uint8Array(values);

describe('binary attributes in DynamoDB JSON answers', () => {
  it('suspects binary in an answer holding a lone B attribute as well as a BS one', () => {
    expect(mayHoldBinary('{"pk":{"B":"AAE="}}')).toBe(true);
    expect(mayHoldBinary('{"pk":{"BS":["AAE="]}}')).toBe(true);
    expect(mayHoldBinary('{"pk":{"S":"B"},"n":{"N":"1"}}')).toBe(false);
  });

  it('turns B and BS base64 text into bytes at any depth and leaves every other type alone', () => {
    const item = {
      pk: { S: 'v1#C1' },
      n: { N: '2' },
      b: { B: 'AAE=' },
      set: { BS: ['AQ==', 'Ag=='] },
      f: { M: { inner: { B: 'Aw==' }, s: { S: 'x' }, l: { L: [{ B: 'BA==' }, { N: '5' }] } } },
      flag: { BOOL: true },
      none: { NULL: true },
    } as unknown as Record<string, AttributeValue>;
    decodeBinaryAttributes([item]);
    expect(item).toEqual({
      pk: { S: 'v1#C1' },
      n: { N: '2' },
      b: { B: bytesOf(0, 1) },
      set: { BS: [bytesOf(1), bytesOf(2)] },
      f: {
        M: { inner: { B: bytesOf(3) }, s: { S: 'x' }, l: { L: [{ B: bytesOf(4) }, { N: '5' }] } },
      },
      flag: { BOOL: true },
      none: { NULL: true },
    });
  });

  describe('through signedBatchGet', () => {
    let server: DynamoDbFaultServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('gives binary keys of UnprocessedKeys back as bytes, ready to be sent again', async () => {
      const table = 'binary-keyed';
      server = await startDynamoDbFaultServer(() =>
        ok({
          Responses: { [table]: [{ pk: { B: 'AAE=' }, v: { S: 'one' } }] },
          UnprocessedKeys: { [table]: { Keys: [{ pk: { B: 'AgM=' } }] } },
        }),
      );
      const batchGet = signedBatchGet({
        region: 'eu-west-1',
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
        endpoint: server.endpoint,
      });
      const output = await batchGet({
        RequestItems: {
          [table]: { Keys: [{ pk: { B: bytesOf(0, 1) } }, { pk: { B: bytesOf(2, 3) } }] },
        },
      });
      expect(output.Responses?.[table]).toEqual([{ pk: { B: bytesOf(0, 1) }, v: { S: 'one' } }]);
      expect(output.UnprocessedKeys?.[table]?.Keys).toEqual([{ pk: { B: bytesOf(2, 3) } }]);
      // The request carried the keys' bytes as base64 text, as DynamoDB's JSON protocol wants.
      expect(server.requests[0]?.body).toEqual({
        RequestItems: { [table]: { Keys: [{ pk: { B: 'AAE=' } }, { pk: { B: 'AgM=' } }] } },
      });
    });
  });
});
