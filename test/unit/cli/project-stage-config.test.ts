import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectFolderOf, projectStageConfig } from '../../../lib/cli/project-stage-config.ts';
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

  it('reads the cdk.json of the folder above the definitions folder', async () => {
    const folder = await makeTempDir('stage-config-above');
    await writeFile(
      path.join(folder, 'cdk.json'),
      JSON.stringify({ context: { stages: { local: { offline: { retention: '400d' } } } } }),
    );
    const defs = path.join(folder, 'feature-defs', 'team');
    await mkdir(defs, { recursive: true });
    expect(projectFolderOf(defs)).toBe(folder);
    expect(projectStageConfig('local', defs).offline.retention).toBe('400d');
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
