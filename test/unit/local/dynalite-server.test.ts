import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot } from '../../helpers/run-fstore.ts';

/**
 * In a child process (vitest reports any uncaught exception of its own process as a failure):
 * a dynalite whose table lookup throws asynchronously, as dynalite does with LevelDB errors.
 */
const script = (repo: string) => `
import { createRequire } from 'node:module';
import { startDynalite } from '${repo}/lib/local/dynalite-server.ts';
import { localDynamoClient } from '${repo}/lib/online/online-table.ts';

const fromRepo = createRequire('${repo}/package.json');
const { DescribeTableCommand, ListTablesCommand } = fromRepo('@aws-sdk/client-dynamodb');
await (await startDynalite()).close(); // installs fstore's guard on dynalite's db module
const fromDynalite = createRequire(fromRepo.resolve('dynalite'));
const dbModule = fromDynalite('./db');
const create = dbModule.create;
dbModule.create = (options) => {
  const store = create(options);
  store.getTable = () => setImmediate(() => { throw new Error('boom inside dynalite'); });
  return store;
};
const server = await startDynalite();
const client = localDynamoClient(server.endpoint);
const failed = await client.send(new DescribeTableCommand({ TableName: 'features' })).then(
  () => 'answered', (error) => error.name + ': ' + error.message);
const listed = await client.send(new ListTablesCommand({}));
console.log(JSON.stringify({ failed, listed: listed.TableNames, storageError: server.storageError()?.message }));
setTimeout(() => { throw new Error('a bug outside dynalite'); }, 10);
setTimeout(() => console.log('still running'), 500);
`;

function runScript(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the embedded dynalite server', () => {
  it('answers a request whose handling throws asynchronously with a 500 and keeps serving, while other uncaught errors still crash the process', async () => {
    const file = path.join(await makeTempDir('dynalite-throw'), 'throw.mts');
    await writeFile(file, script(repoRoot.replace(/\/$/, '')));
    const result = await runScript(file);
    const [first = '{}'] = result.stdout.trim().split('\n');
    const report = JSON.parse(first) as { failed: string; listed: string[]; storageError: string };
    expect(report.failed).toMatch(/^InternalServerError: .*boom inside dynalite/);
    expect(report.listed).toEqual([]);
    expect(report.storageError).toBe('boom inside dynalite');
    // The guard leaves errors outside dynalite's requests to Node's default: crash, exit 1.
    expect(result.stdout).not.toContain('still running');
    expect(result.stderr).toContain('a bug outside dynalite');
    expect(result.code).toBe(1);
  }, 60_000);
});
