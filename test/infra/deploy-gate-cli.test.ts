import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot } from '../helpers/run-fstore.ts';

const fixture = path.join(repoRoot, 'test/fixtures/deployed-registry/tenure-months-int64.json');

/** `npx cdk synth -c env=dev <context...>` with the pinned CLI and no AWS credentials. */
async function cdkSynth(...context: string[]) {
  const out = await makeTempDir('cdk-gate');
  return spawnSync(
    'npx',
    ['cdk', 'synth', '--quiet', '-c', 'env=dev', ...context.flatMap((c) => ['-c', c]), '-o', out],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 300_000,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '',
        CDK_DISABLE_VERSION_CHECK: '1',
      },
    },
  );
}

describe('cdk synth with -c deployedRegistry', () => {
  it('fails on a breaking change, printing it and the allowBreaking that would accept it', async () => {
    const result = await cdkSynth(`deployedRegistry=${fixture}`);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('breaks the deployed registry deployed0fixture');
    expect(result.stderr).toContain('feature view customer_profile: features.tenure_months.type');
    expect(result.stderr).toContain('hint: run `fstore plan`');
    expect(result.stderr).toContain('-c allowBreaking=customer_profile');
  }, 300_000);

  it('fails naming a deployedRegistry file that does not exist', async () => {
    const result = await cdkSynth('deployedRegistry=/nonexistent/deployed.json');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      '-c deployedRegistry=/nonexistent/deployed.json does not exist',
    );
  }, 300_000);

  it('synthesizes when allowBreaking names the view, warning that a breaking change is deployed', async () => {
    const result = await cdkSynth(`deployedRegistry=${fixture}`, 'allowBreaking=customer_profile');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('Deploying breaking changes allowed by -c allowBreaking');
  }, 300_000);
});
