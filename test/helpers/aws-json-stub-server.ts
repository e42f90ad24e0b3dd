import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stub received: the operation (`X-Amz-Target` without its prefix) and body. */
export interface StubCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

export type StubAnswer = (call: StubCall) => Record<string, unknown> | undefined;

export interface AwsJsonStub {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_<SERVICE>`. */
  readonly endpoint: string;
  readonly calls: readonly StubCall[];
  close(): Promise<void>;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** S3's answer to a ListObjectsV2 (REST XML, path-style on a loopback endpoint) with no objects. */
function emptyS3Listing(url: URL): string {
  const bucket = url.pathname.split('/')[1] ?? '';
  const prefix = url.searchParams.get('prefix') ?? '';
  const xmlText = (text: string) =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlText(bucket)}</Name><Prefix>${xmlText(prefix)}</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`;
}

/**
 * A loopback HTTP endpoint speaking the AWS JSON 1.1 protocol (Athena's): each POST names its
 * operation in `X-Amz-Target`; `answer` returns the response document, or undefined for an
 * error the SDK raises as `UnknownOperationException`. It also answers S3's ListObjectsV2 with
 * an empty listing (recorded as operation `S3:ListObjectsV2`, input `{ bucket, prefix }`), so a
 * bundle that lists a bucket sees a bucket with no objects. Every call is recorded. Used where a
 * Lambda bundle runs in another process, so aws-sdk-client-mock cannot reach its clients.
 */
export async function startAwsJsonStub(answer: StubAnswer): Promise<AwsJsonStub> {
  const calls: StubCall[] = [];
  const server = createServer(async (request, response) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const text = await bodyOf(request);
    const url = new URL(request.url ?? '/', 'http://stub');
    if (!target && request.method === 'GET' && url.searchParams.get('list-type') === '2') {
      calls.push({
        operation: 'S3:ListObjectsV2',
        input: { bucket: url.pathname.split('/')[1], prefix: url.searchParams.get('prefix') },
      });
      response.setHeader('content-type', 'application/xml');
      response.end(emptyS3Listing(url));
      return;
    }
    const call: StubCall = {
      operation: target.replace(/^.*\./, ''),
      input: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
    calls.push(call);
    const output = answer(call);
    response.setHeader('content-type', 'application/x-amz-json-1.1');
    if (output === undefined) {
      response.statusCode = 400;
      response.setHeader('x-amzn-errortype', 'UnknownOperationException');
      response.end(
        JSON.stringify({
          __type: 'UnknownOperationException',
          message: `the stub does not answer ${target || `${request.method} ${request.url}`}`,
        }),
      );
      return;
    }
    response.end(JSON.stringify(output));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
