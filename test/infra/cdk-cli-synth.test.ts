import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, repoRoot } from '../helpers/run-fstore.ts';

describe('npm run synth', () => {
  it('synthesizes dev and prod with the pinned CDK CLI and no AWS credentials', async () => {
    for (const env of ['dev', 'prod']) {
      const out = await makeTempDir(`cdk-${env}`);
      const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '-c', `env=${env}`, '-o', out], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 180_000,
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: '',
          AWS_SECRET_ACCESS_KEY: '',
          AWS_PROFILE: '',
          CDK_DISABLE_VERSION_CHECK: '1',
        },
      });
      expect(result.status, result.stderr).toBe(0);
      const template = path.join(out, `fstore-${env}.template.json`);
      expect(existsSync(template)).toBe(true);
      expect(JSON.parse(readFileSync(template, 'utf8')).Outputs.RegistryVersion.Value).toMatch(
        /^[0-9a-f]{16}$/,
      );
    }
  }, 360_000);
});
