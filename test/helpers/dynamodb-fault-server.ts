import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server received: its headers and parsed JSON body. */
export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  readonly rawBody: string;
}

/**
 * What to do with a request: answer (status, body text, headers), or misbehave: never answer
 * (`hang`), stop in the middle of a 200 answer (`stall`), cut the connection before answering
 * (`reset`), or in the middle of a 200 answer (`cut`).
 */
export type FaultAnswer =
  | { status: number; body: string; headers?: Record<string, string> }
  | 'hang'
  | 'stall'
  | 'reset'
  | 'cut';

export interface DynamoDbFaultServer {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly requests: readonly ReceivedRequest[];
  close(): Promise<void>;
}

/** A DynamoDB JSON-protocol answer: status 200 and this document. */
export const ok = (document: unknown): FaultAnswer => ({
  status: 200,
  body: JSON.stringify(document),
});

/** A DynamoDB error answer, as DynamoDB writes it (`__type` with its namespace, `message`). */
export const dynamoError = (status: number, type: string, message: string): FaultAnswer => ({
  status,
  body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
});

/**
 * A loopback HTTP server standing in for DynamoDB, answering each request with `answer(n)`
 * (n counts requests from 0), so a test can make it throttle, fail, hang, cut connections or
 * answer garbage. Every request is recorded.
 */
export async function startDynamoDbFaultServer(
  answer: (index: number, request: ReceivedRequest) => FaultAnswer,
): Promise<DynamoDbFaultServer> {
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const received = {
      headers: request.headers,
      body: rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : {},
      rawBody,
    };
    const index = requests.length;
    requests.push(received);
    const reply = answer(index, received);
    if (reply === 'hang' || reply === 'stall') {
      if (reply === 'stall') {
        response.writeHead(200, { 'content-length': '1000' });
        response.write('{"Responses":{"fstore');
      }
      hanging.add(response);
      return;
    }
    if (reply === 'reset') {
      request.socket.destroy();
      return;
    }
    if (reply === 'cut') {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('{"Responses":{"fstore');
      setTimeout(() => request.socket.destroy(), 20);
      return;
    }
    response.writeHead(reply.status, {
      'content-type': 'application/x-amz-json-1.0',
      ...reply.headers,
    });
    response.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
