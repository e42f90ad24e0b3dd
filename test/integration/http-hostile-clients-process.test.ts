import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, requestHead } from '../helpers/raw-http.ts';
import { repoRoot } from '../helpers/run-fstore.ts';

// The servers run in a child process: an error nobody catches there ends it, as it would end
// `fstore serve`, while in this process the test runner's own listeners would swallow it.
let child: ChildProcess;
let ports: { api: number; dynamo: number };
let stderr = '';

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hostile-target.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  ports = await new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
});
afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});

const truncated = (port: number, contentType: string, extra: Record<string, string> = {}) =>
  rawRequest(port, {
    pieces: [
      requestHead('POST', '/', port, {
        'content-type': contentType,
        'content-length': 100,
        ...extra,
      }),
      '{',
    ],
    pauseMs: 5,
    after: 'destroy',
  });

describe('the serving process with hostile clients', () => {
  it('lives through oversized, truncated, stalled and malformed requests to the API and to dynalite', async () => {
    const { api, dynamo } = ports;
    const body = 'a'.repeat(262_146);
    await rawRequest(api, {
      pieces: [
        requestHead('POST', '/v1/feature-views/profile', api, {
          'content-type': 'application/json',
          'content-length': body.length,
        }) + body,
      ],
    });
    for (let i = 0; i < 3; i++) {
      await truncated(api, 'application/json');
      await truncated(dynamo, 'application/x-amz-json-1.0', {
        'x-amz-target': 'DynamoDB_20120810.ListTables',
      });
    }
    await rawRequest(api, {
      pieces: [requestHead('POST', '/v1/feature-views/profile', api, { 'content-length': 50 })],
      after: 'wait',
      timeoutMs: 2_000,
    });
    await rawRequest(api, { pieces: [requestHead('GET', `/${'q'.repeat(70_000)}`, api)] });
    await rawRequest(api, {
      pieces: [requestHead('GET', '/v1/health', api, { 'x-big': 'h'.repeat(20_000) })],
    });
    await rawRequest(api, { pieces: [requestHead('FROBNICATE', '/v1/health', api)] });
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(child.exitCode, stderr).toBeNull();
    const health = await rawRequest(api, {
      pieces: [requestHead('GET', '/v1/health', api, { connection: 'close' })],
    });
    expect(health.response?.status, health.raw).toBe(200);
    const listTables = JSON.stringify({});
    const tables = await rawRequest(dynamo, {
      pieces: [
        requestHead('POST', '/', dynamo, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          'content-length': listTables.length,
          connection: 'close',
        }) + listTables,
      ],
    });
    // Unsigned, so dynalite refuses it, but it answers: the endpoint lives.
    expect(tables.response?.status, tables.raw).toBe(400);
    expect(tables.response?.body).toContain('Authentication');
  });
});
