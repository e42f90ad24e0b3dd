import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';

/**
 * A loopback S3 holding one bucket in memory, for the real S3 client (and the real CLI, through
 * `AWS_ENDPOINT_URL_S3`): ListObjectsV2 (pages of `pageSize`, each object with its ETag),
 * GetObject, PutObject, CopyObject (a PUT with `x-amz-copy-source: <bucket>/<URL-encoded key>`,
 * within this bucket; `x-amz-copy-source-if-match` as S3 answers it), DeleteObject and DeleteObjects (quiet: only its errors answered; an entry with a VersionId
 * deletes that version), ListObjectVersions (one version per key, its id the MD5 of its bytes,
 * one page; with `versioned`, also the noncurrent versions kept below), GetObject of a
 * `versionId`, path-style
 * as the SDK speaks to an IP.
 * Anything else answers 501, and so does an `aws-chunked` upload: set
 * `AWS_REQUEST_CHECKSUM_CALCULATION=when_required` (`memoryBucketEnv`) so bodies come plain.
 *
 * Conditional writes as S3 answers them (user guide, "conditional writes" and "conditional
 * deletes"): the ETag is the quoted MD5 of the bytes (a single-part put). PutObject with
 * `If-None-Match: *` on an existing key, or `If-Match` with another ETag, answers 412
 * PreconditionFailed; `If-Match` on a missing key answers 404 NoSuchKey. DeleteObject with
 * `If-Match` likewise (412 on another ETag, 404 when missing). The check and the write happen in
 * one turn of the event loop, so of two racing conditional writes exactly one wins.
 */
export interface MemoryBucket {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly name: string;
  readonly objects: Map<string, Buffer>;
  /** Every request: method and key (or `?list`, `?delete`). */
  readonly requests: string[];
  /** The prefix of each ListObjectsV2 page asked for, in order. */
  readonly listed: string[];
  /**
   * Keys a DeleteObject or DeleteObjects named that the bucket did not hold: on a versioned
   * bucket (fstore's are) each such delete leaves a delete marker.
   */
  readonly absentDeletes: string[];
  /** Keys a DeleteObjects removed by VersionId (for good: no delete marker is left). */
  readonly versionDeletes: string[];
  /**
   * With `versioned`: the noncurrent versions of each key, oldest first, as a versioned bucket
   * keeps them when a key is written again or deleted without a VersionId (delete markers are
   * not modelled). Deleting the current version by id makes the newest of these current, as S3
   * does. Empty without `versioned` (the bucket then keeps the current bytes only).
   */
  readonly noncurrent: Map<string, { readonly id: string; readonly bytes: Buffer }[]>;
  /** When each key was last written (S3's Last-Modified); keys set directly count as 2026-03-01. */
  readonly modified: Map<string, Date>;
  /**
   * S3's clock (default the host's): the Last-Modified of each write and the `Date` header of
   * each answer, both in whole seconds as S3 sends them.
   */
  now: () => Date;
  /**
   * Called before each request is handled, with its method, key and headers: a test acts there
   * (replaces a lock, or holds requests back until another arrives) at an exact point of a run.
   * A status it returns is answered instead, as an S3 error (e.g. `{ status: 409, code:
   * 'ConditionalRequestConflict' }`).
   */
  beforeRequest?: (
    method: string,
    key: string,
    headers: IncomingMessage['headers'],
  ) =>
    | { status: number; code: string }
    | undefined
    | Promise<{ status: number; code: string } | undefined>;
  /**
   * Called for each key of a DeleteObjects: an error it returns is answered in the response's
   * `<Error>` entries (HTTP 200, as S3 does for a key it could not delete) and the key is kept.
   */
  deleteObjectsError?: (key: string) => { code: string; message: string } | undefined;
  /** Environment for a process using this bucket. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

const xmlText = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unXml = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

function error(response: ServerResponse, status: number, code: string, message: string): void {
  response
    .writeHead(status, { 'content-type': 'application/xml' })
    .end(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xmlText(message)}</Message></Error>`,
    );
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** An S3 client of `bucket` (path-style, test credentials, checksums only where required). */
export function memoryBucketClient(bucket: Pick<MemoryBucket, 'endpoint'>): S3Client {
  return new S3Client({
    region: 'eu-west-1',
    endpoint: bucket.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

export async function startMemoryBucket(
  name: string,
  options: { readonly pageSize?: number; readonly versioned?: boolean } = {},
): Promise<MemoryBucket> {
  const pageSize = options.pageSize ?? 1000;
  const objects = new Map<string, Buffer>();
  const modified = new Map<string, Date>();
  const requests: string[] = [];
  const listed: string[] = [];
  const absentDeletes: string[] = [];
  const versionDeletes: string[] = [];
  const noncurrent = new Map<string, { id: string; bytes: Buffer }[]>();
  let versionCount = 0;
  /** With `versioned`, the current bytes of `key` become a noncurrent version (a write or delete). */
  const keepAsNoncurrent = (key: string) => {
    const held = objects.get(key);
    if (!options.versioned || !held) return;
    versionCount += 1;
    noncurrent.set(key, [...(noncurrent.get(key) ?? []), { id: `n${versionCount}`, bytes: held }]);
  };
  /** Each key holds one version, its current bytes: the version id is their MD5. */
  const versionOf = (bytes: Buffer) => `v${createHash('md5').update(bytes).digest('hex')}`;
  const etagOf = (bytes: Buffer) => `"${createHash('md5').update(bytes).digest('hex')}"`;
  const lastModified = (key: string) => modified.get(key) ?? new Date('2026-03-01T00:00:00Z');
  /** The 412/404 a conditional request gets, or undefined when its condition holds. */
  function unmet(request: IncomingMessage, key: string): [number, string, string] | undefined {
    const current = objects.get(key);
    const ifMatch = request.headers['if-match'];
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch === '*' && current)
      return [
        412,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
      ];
    if (ifMatch === undefined) return undefined;
    if (!current) return [404, 'NoSuchKey', 'The specified key does not exist.'];
    if (ifMatch !== '*' && ifMatch !== etagOf(current))
      return [
        412,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
      ];
    return undefined;
  }
  const server = createServer((request, response) => {
    handle(request, response).catch((e: Error) => error(response, 500, 'InternalError', e.message));
  });
  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stub');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = rest.map(decodeURIComponent).join('/');
    const method = request.method ?? 'GET';
    response.setHeader('date', bucketHandle.now().toUTCString());
    if (decodeURIComponent(bucket) !== name)
      return error(response, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    const injected = await bucketHandle.beforeRequest?.(method, key, request.headers);
    if (injected) {
      requests.push(`${method} ${key} -> ${injected.status}`);
      await bodyOf(request);
      return error(response, injected.status, injected.code, 'injected by the test');
    }
    if (method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') {
      requests.push('LIST');
      const prefix = url.searchParams.get('prefix') ?? '';
      listed.push(prefix);
      const after =
        url.searchParams.get('continuation-token') ?? url.searchParams.get('start-after') ?? '';
      const matching = [...objects.keys()].sort().filter((k) => k.startsWith(prefix) && k > after);
      const page = matching.slice(0, pageSize);
      const truncated = matching.length > page.length;
      const contents = page
        .map(
          (k) =>
            `<Contents><Key>${xmlText(k)}</Key><LastModified>${lastModified(k).toISOString()}</LastModified><ETag>${xmlText(etagOf(objects.get(k) ?? Buffer.alloc(0)))}</ETag><Size>${objects.get(k)?.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        )
        .join('');
      response
        .writeHead(200, { 'content-type': 'application/xml' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${name}</Name><Prefix>${xmlText(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${pageSize}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${truncated ? `<NextContinuationToken>${xmlText(page.at(-1) ?? '')}</NextContinuationToken>` : ''}</ListBucketResult>`,
        );
      return;
    }
    if (method === 'GET' && key === '' && url.searchParams.has('versions')) {
      // One version per key (its current bytes), so the whole answer fits one page.
      requests.push('LIST ?versions');
      const prefix = url.searchParams.get('prefix') ?? '';
      const versions = [...new Set([...objects.keys(), ...noncurrent.keys()])]
        .sort()
        .filter((k) => k.startsWith(prefix))
        .map((k) => {
          const current = objects.get(k);
          const older = [...(noncurrent.get(k) ?? [])]
            .reverse()
            .map(
              (v) =>
                `<Version><Key>${xmlText(k)}</Key><VersionId>${v.id}</VersionId><IsLatest>false</IsLatest><LastModified>2026-03-01T00:00:00.000Z</LastModified><Size>${v.bytes.length}</Size></Version>`,
            );
          return [
            ...(current
              ? [
                  `<Version><Key>${xmlText(k)}</Key><VersionId>${versionOf(current)}</VersionId><IsLatest>true</IsLatest><LastModified>${lastModified(k).toISOString()}</LastModified><Size>${current.length}</Size></Version>`,
                ]
              : []),
            ...older,
          ].join('');
        })
        .join('');
      response
        .writeHead(200, { 'content-type': 'application/xml' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult><Name>${name}</Name><Prefix>${xmlText(prefix)}</Prefix><IsTruncated>false</IsTruncated>${versions}</ListVersionsResult>`,
        );
      return;
    }
    if (method === 'POST' && key === '' && url.searchParams.has('delete')) {
      requests.push('DELETE ?delete');
      const xml = (await bodyOf(request)).toString('utf8');
      const keys = [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unXml(m[1] ?? ''));
      const versionIds = [...xml.matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map(
        (m) => /<VersionId>([^<]*)<\/VersionId>/.exec(m[1] ?? '')?.[1],
      );
      const quiet = /<Quiet>true<\/Quiet>/.test(xml);
      const entries: string[] = [];
      for (const [index, k] of keys.entries()) {
        const refused = bucketHandle.deleteObjectsError?.(k);
        if (refused) {
          entries.push(
            `<Error><Key>${xmlText(k)}</Key><Code>${refused.code}</Code><Message>${xmlText(refused.message)}</Message></Error>`,
          );
          continue;
        }
        const versionId = versionIds[index];
        if (versionId !== undefined) {
          // A version delete removes that version for good and leaves no delete marker.
          const held = objects.get(k);
          const older = noncurrent.get(k) ?? [];
          if (held && versionOf(held) === versionId) {
            objects.delete(k);
            modified.delete(k);
            versionDeletes.push(k);
            // The newest noncurrent version becomes the current one.
            const promoted = older.pop();
            if (promoted) objects.set(k, promoted.bytes);
          } else if (older.some((v) => v.id === versionId)) {
            noncurrent.set(
              k,
              older.filter((v) => v.id !== versionId),
            );
            versionDeletes.push(k);
          }
          if (noncurrent.get(k)?.length === 0) noncurrent.delete(k);
          continue;
        }
        if (!objects.has(k)) absentDeletes.push(k);
        keepAsNoncurrent(k);
        objects.delete(k);
        modified.delete(k);
        if (!quiet) entries.push(`<Deleted><Key>${xmlText(k)}</Key></Deleted>`);
      }
      response
        .writeHead(200, { 'content-type': 'application/xml' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><DeleteResult>${entries.join('')}</DeleteResult>`,
        );
      return;
    }
    if (key === '') return error(response, 501, 'NotImplemented', `${method} on the bucket`);
    requests.push(`${method} ${key}`);
    if (method === 'GET') {
      const versionId = url.searchParams.get('versionId');
      const bytes =
        versionId === null ||
        (objects.get(key) && versionOf(objects.get(key) as Buffer) === versionId)
          ? objects.get(key)
          : noncurrent.get(key)?.find((v) => v.id === versionId)?.bytes;
      if (!bytes) return error(response, 404, 'NoSuchKey', 'The specified key does not exist.');
      response
        .writeHead(200, {
          'content-length': bytes.length,
          'content-type': 'binary/octet-stream',
          etag: etagOf(bytes),
          'last-modified': lastModified(key).toUTCString(),
        })
        .end(bytes);
      return;
    }
    const copySource = request.headers['x-amz-copy-source'];
    if (method === 'PUT' && typeof copySource === 'string') {
      await bodyOf(request);
      const [sourceBucket, ...sourceKey] =
        copySource.replace(/^\//, '').split('?')[0]?.split('/') ?? [];
      const source = sourceKey.map(decodeURIComponent).join('/');
      const bytes =
        decodeURIComponent(sourceBucket ?? '') === name ? objects.get(source) : undefined;
      if (!bytes)
        return error(response, 404, 'NoSuchKey', `copy source ${copySource} does not exist`);
      const sourceIfMatch = request.headers['x-amz-copy-source-if-match'];
      if (sourceIfMatch !== undefined && sourceIfMatch !== etagOf(bytes))
        return error(
          response,
          412,
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
        );
      const failed = unmet(request, key);
      if (failed) return error(response, ...failed);
      keepAsNoncurrent(key);
      objects.set(key, Buffer.from(bytes));
      modified.set(key, bucketHandle.now());
      response
        .writeHead(200, { 'content-type': 'application/xml' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><LastModified>${bucketHandle.now().toISOString()}</LastModified><ETag>${xmlText(etagOf(bytes))}</ETag></CopyObjectResult>`,
        );
      return;
    }
    if (method === 'PUT') {
      if (String(request.headers['content-encoding'] ?? '').includes('aws-chunked'))
        return error(response, 501, 'NotImplemented', 'aws-chunked uploads');
      const bytes = await bodyOf(request);
      const failed = unmet(request, key);
      if (failed) return error(response, ...failed);
      keepAsNoncurrent(key);
      objects.set(key, bytes);
      modified.set(key, bucketHandle.now());
      response.writeHead(200, { etag: etagOf(bytes) }).end();
      return;
    }
    if (method === 'DELETE') {
      const failed = unmet(request, key);
      if (failed) return error(response, ...failed);
      if (!objects.has(key)) absentDeletes.push(key);
      keepAsNoncurrent(key);
      objects.delete(key);
      modified.delete(key);
      response.writeHead(204).end();
      return;
    }
    error(response, 501, 'NotImplemented', method);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bucketHandle: MemoryBucket = {
    endpoint,
    name,
    objects,
    modified,
    requests,
    listed,
    absentDeletes,
    versionDeletes,
    noncurrent,
    now: () => new Date(),
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return bucketHandle;
}
