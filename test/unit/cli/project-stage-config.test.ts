import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectStageConfig } from '../../../lib/cli/project-stage-config.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

describe('projectStageConfig (the CLI reads the stage settings cdk deploy reads)', () => {
  it("takes the env's entry of cdk.json context.stages over the defaults", async () => {
    const folder = await makeTempDir('stage-config');
    await writeFile(
      path.join(folder, 'cdk.json'),
      JSON.stringify({ context: { stages: { local: { offline: { retention: '730d' } } } } }),
    );
    expect(projectStageConfig('local', folder).offline.retention).toBe('730d');
    expect(projectStageConfig('dev', folder).offline.retention).toBeUndefined();
  });

  it('uses the defaults without a cdk.json', async () => {
    expect(
      projectStageConfig('local', await makeTempDir('no-cdk')).offline.retention,
    ).toBeUndefined();
  });

  it('refuses a bad retention in cdk.json, naming the stage and field', async () => {
    const folder = await makeTempDir('stage-config-bad');
    await writeFile(
      path.join(folder, 'cdk.json'),
      JSON.stringify({ context: { stages: { local: { offline: { retention: 'forever' } } } } }),
    );
    expect(() => projectStageConfig('local', folder)).toThrow(
      'stage config "local": offline.retention: "forever" is not a duration',
    );
  });
});
