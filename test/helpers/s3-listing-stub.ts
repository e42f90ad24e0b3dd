import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3ListingStub {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_S3` (the SDK goes path-style on an IP). */
  readonly endpoint: string;
  /** Each ListObjectsV2 received: bucket, prefix, start-after, continuation-token. */
  readonly listings: readonly Record<string, string | undefined>[];
  close(): Promise<void>;
}

const xmlText = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A loopback S3 answering ListObjectsV2 as S3 does (keys in order, after `start-after` or the
 * continuation token, `pageSize` per page) over `buckets` (bucket → key → size). A bucket not
 * in `buckets` answers 403 AccessDenied, as S3 does to a caller without s3:ListBucket; a bucket
 * in `hanging` never answers (to stop a caller mid-listing); one in `throttled` answers its
 * first listings with 503 SlowDown, as S3 does past a prefix's request rate.
 */
export async function startS3ListingStub(
  buckets: Record<string, Record<string, number>>,
  options: {
    readonly pageSize?: number;
    readonly hanging?: readonly string[];
    /** Bucket → how many listings answer 503 SlowDown before it answers (Infinity: always). */
    readonly throttled?: Readonly<Record<string, number>>;
  } = {},
): Promise<S3ListingStub> {
  const pageSize = options.pageSize ?? 2;
  const listings: Record<string, string | undefined>[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://stub');
    const bucket = decodeURIComponent(url.pathname.split('/')[1] ?? '');
    const param = (name: string) => url.searchParams.get(name) ?? undefined;
    if (request.method !== 'GET' || param('list-type') !== '2') {
      response.writeHead(501).end();
      return;
    }
    listings.push({
      bucket,
      prefix: param('prefix'),
      startAfter: param('start-after'),
      continuationToken: param('continuation-token'),
    });
    if (options.hanging?.includes(bucket)) return;
    const slowDowns = options.throttled?.[bucket] ?? 0;
    if (listings.filter((l) => l.bucket === bucket).length <= slowDowns) {
      response
        .writeHead(503, { 'content-type': 'application/xml' })
        .end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
        );
      return;
    }
    const objects = buckets[bucket];
    if (!objects) {
      response
        .writeHead(403, { 'content-type': 'application/xml' })
        .end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
        );
      return;
    }
    const prefix = param('prefix') ?? '';
    const after = param('continuation-token') ?? param('start-after') ?? '';
    const matching = Object.keys(objects)
      .sort()
      .filter((key) => key.startsWith(prefix) && key > after);
    const page = matching.slice(0, pageSize);
    const truncated = matching.length > page.length;
    const contents = page
      .map(
        (key) =>
          `<Contents><Key>${xmlText(key)}</Key><Size>${objects[key]}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      )
      .join('');
    response
      .writeHead(200, { 'content-type': 'application/xml' })
      .end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlText(bucket)}</Name><Prefix>${xmlText(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${pageSize}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${truncated ? `<NextContinuationToken>${xmlText(page[page.length - 1] ?? '')}</NextContinuationToken>` : ''}</ListBucketResult>`,
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    listings,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
