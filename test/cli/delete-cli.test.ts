import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envDataDir } from '../../lib/data-paths.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';

const run = async (...args: string[]) => {
  const dataDir = await makeTempDir('delete-cli');
  return { dataDir, result: await runFstore(['--data-dir', dataDir, 'delete', ...args]) };
};

describe('fstore delete refuses bad input with exit 2, changing nothing', () => {
  it('names an unknown join key, lists the known ones and the closest', async () => {
    const { dataDir, result } = await run('--entity', 'customer_idd=C1', '--yes');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"customer_idd" is not a join key');
    expect(result.stderr).toContain('did you mean "customer_id"?');
    expect(result.stderr).toContain('known join keys: customer_id');
    expect(existsSync(envDataDir(dataDir, 'local'))).toBe(false);
  }, 60_000);

  it('refuses an argument that is not key=value, and an empty value', async () => {
    const missing = await run('--entity', 'C1', '--yes');
    expect(missing.result.code).toBe(2);
    expect(missing.result.stderr).toContain('--entity #1 "C1" is not <join key>=<value>');
    const empty = await run('--entity', 'customer_id=C1', '--entity', 'customer_id=', '--yes');
    expect(empty.result.code).toBe(2);
    expect(empty.result.stderr).toContain('--entity #2 "customer_id=": customer_id is empty');
  }, 60_000);

  it('asks for --yes when not at a terminal, and refuses --bucket on a local environment', async () => {
    const unconfirmed = await run('--entity', 'customer_id=C1');
    expect(unconfirmed.result.code).toBe(2);
    expect(unconfirmed.result.stderr).toContain('pass --yes');
    const bucket = await run('--entity', 'customer_id=C1', '--yes', '--bucket', 'b');
    expect(bucket.result.code).toBe(2);
    expect(bucket.result.stderr).toContain('--bucket applies to AWS environments only');
    expect(existsSync(envDataDir(bucket.dataDir, 'local'))).toBe(false);
  }, 60_000);

  it('refuses --break-lock locally, with --dry-run, or without an owner id', async () => {
    const local = await run('--entity', 'customer_id=C1', '--yes', '--break-lock', 'abcdefabcdef');
    expect(local.result.code).toBe(2);
    expect(local.result.stderr).toContain('--break-lock applies to AWS environments');
    const aws = (...extra: string[]) =>
      runFstore(['--env', 'dev', 'delete', '--entity', 'customer_id=C1', '--yes', ...extra]);
    const dry = await aws('--dry-run', '--break-lock', 'abcdefabcdef');
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain('--break-lock has no effect with --dry-run');
    const everyone = await aws('--break-lock', 'everyone');
    expect(everyone.code).toBe(2);
    expect(everyone.stderr).toContain("--break-lock must name the lock's owner");
  }, 60_000);

  it('on an AWS environment reads the stack first, and stops there, changing nothing, when it cannot', async () => {
    const dataDir = await makeTempDir('delete-cli-aws');
    const aws = await runFstore(
      ['--data-dir', dataDir, '--env', 'dev', 'delete', '--entity', 'customer_id=C1', '--yes'],
      {
        env: {
          AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:9',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_REGION: 'eu-west-1',
          AWS_MAX_ATTEMPTS: '1',
        },
      },
    );
    expect(aws.code).toBe(1);
    expect(aws.stderr).toContain('could not read stack fstore-dev in eu-west-1');
    expect(existsSync(envDataDir(dataDir, 'dev'))).toBe(false);
  }, 60_000);

  it('on an empty environment deletes nothing and succeeds', async () => {
    const { result } = await run('--entity', 'customer_id=C1', '--yes');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('offline orders: deleted 0 rows');
    expect(result.stdout).toContain('quarantine: deleted 0 rows\n');
    expect(result.stdout).toContain('audited in');
  }, 60_000);
});
