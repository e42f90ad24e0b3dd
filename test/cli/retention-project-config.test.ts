import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineSource } from 'fstore:definitions';
export const clicks = defineSource({
  name: 'clicks',
  schema: { customer_id: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
`;

/** A project folder: cdk.json with the local stage's offline.retention, and feature-defs/. */
async function project(prefix: string, retention: string): Promise<string> {
  const root = await makeTempDir(prefix);
  await writeFile(
    path.join(root, 'cdk.json'),
    JSON.stringify({ context: { stages: { local: { offline: { retention } } } } }),
  );
  await mkdir(path.join(root, 'feature-defs'));
  await writeDefs({ 'defs.ts': defs }, path.join(root, 'feature-defs'));
  return root;
}

describe("fstore retention reads the stage config of the --defs folder's project", () => {
  it("applies the defs project's offline.retention, not the one of the folder it runs in", async () => {
    const mine = await project('retention-project-mine', '730d');
    const other = await project('retention-project-other', '30d');
    const run = await runFstore(
      [
        '--defs',
        path.join(mine, 'feature-defs'),
        '--data-dir',
        path.join(mine, '.fstore'),
        'retention',
        '--dry-run',
        '--json',
      ],
      { cwd: other },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).sources).toEqual([
      expect.objectContaining({ source: 'clicks', retention: '730d', from: 'environment' }),
    ]);
  }, 60_000);
});
