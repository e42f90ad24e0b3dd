import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot, runFstore } from '../helpers/run-fstore.ts';

const fixture = path.join(repoRoot, 'test/fixtures/deployed-registry/tenure-months-int64.json');

/**
 * A loopback stand-in for S3's GetObject (path-style, as the SDK uses for an IP endpoint):
 * bucket `deployed` holds the fixture, `empty` holds nothing, `locked` denies access.
 */
async function startS3(): Promise<{ server: Server; endpoint: string; requests: string[] }> {
  const deployed = await readFile(fixture, 'utf8');
  const requests: string[] = [];
  const xmlError = (code: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`;
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const url = request.url ?? '';
    if (url.startsWith('/deployed/registry/deployed.json')) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(deployed);
    } else if (url.startsWith('/locked/')) {
      response.writeHead(403, { 'content-type': 'application/xml' }).end(xmlError('AccessDenied'));
    } else {
      response.writeHead(404, { 'content-type': 'application/xml' }).end(xmlError('NoSuchKey'));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}`, requests };
}

describe('fstore plan --env <aws environment>', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let awsEnv: Record<string, string>;
  beforeAll(async () => {
    s3 = await startS3();
    awsEnv = {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
  });
  afterAll(() => new Promise<void>((resolve) => s3.server.close(() => resolve())));

  it('compares with the registry the last deploy recorded, showing the services each change affects', async () => {
    const result = await runFstore(['--env', 'dev', 'plan', '--bucket', 'deployed'], {
      env: awsEnv,
    });
    expect(result.stdout).toContain('Plan for env "dev": deployed0fixture →');
    expect(result.stdout).toContain('features.tenure_months.type: int64 → int32  breaking');
    expect(result.stdout).toContain('services affected: churn_online, churn_v1');
    expect(result.code).toBe(1);
    expect(s3.requests).toContain('GET /deployed/registry/deployed.json?x-id=GetObject');
  });

  it('saves the deployed registry for cdk synth -c deployedRegistry=<file>', async () => {
    const file = path.join(await makeTempDir('deployed'), 'deployed.json');
    const result = await runFstore(
      ['--env', 'dev', 'plan', '--bucket', 'deployed', '--save-deployed', file, '--allow-breaking'],
      { env: awsEnv },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(
      JSON.parse(await readFile(fixture, 'utf8')),
    );
  });

  it('takes the bucket from FSTORE_ARTIFACTS_BUCKET, and says when nothing was deployed yet', async () => {
    const result = await runFstore(['--env', 'dev', 'plan'], {
      env: { ...awsEnv, FSTORE_ARTIFACTS_BUCKET: 'empty' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'No registry recorded at s3://empty/registry/deployed.json: nothing deployed to "dev" yet; everything is new.',
    );
  });

  it('fails naming the object and the permission when access is denied', async () => {
    const result = await runFstore(['--env', 'dev', 'plan', '--bucket', 'locked'], {
      env: awsEnv,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'access denied reading the deployed registry s3://locked/registry/deployed.json',
    );
    expect(result.stderr).toContain('s3:GetObject on arn:aws:s3:::locked/registry/deployed.json');
  });

  it('is a usage error without a bucket, pointing at the stack output and --against', async () => {
    const result = await runFstore(['--env', 'dev', 'plan'], {
      env: { ...awsEnv, FSTORE_ARTIFACTS_BUCKET: '' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ArtifactsBucketName output of stack fstore-dev');
    expect(result.stderr).toContain('--against <file>');
  });
});
