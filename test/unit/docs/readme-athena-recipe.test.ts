import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  athenaRecipeSection,
  codeBlocks,
  recipeOutputNames,
} from '../../helpers/readme-athena-recipe.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const section = athenaRecipeSection();

/** Why Python cannot compile here, or undefined when `python3` runs. */
function pythonUnavailable(): string | undefined {
  try {
    execFileSync('python3', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'python3 is not installed: apt-get install python3 (.ci/run installs it and sets FSTORE_REQUIRE_PYTHON=1)';
  }
}

/** Skips the test where python3 is missing, with the reason; .ci/run makes that a failure. */
function requirePython(context: { skip(note?: string): never }): void {
  const reason = pythonUnavailable();
  if (reason === undefined) return;
  if (process.env.FSTORE_REQUIRE_PYTHON === '1') throw new Error(reason);
  console.warn(`skipped: ${reason}`);
  context.skip(reason);
}

describe('the README recipe for training sets with only Athena', () => {
  it('has Python that compiles: the shared lines, then each client after them (skipped, with the reason, where no python3 is installed)', async (context) => {
    requirePython(context);
    const [shared, ...clients] = codeBlocks(section, 'python');
    expect(shared).toContain('json.load(open("fstore-prod.json"))');
    expect(clients.map((c) => /import (\w+)/.exec(c)?.[1])).toEqual(['awswrangler', 'io']);
    const dir = await makeTempDir('readme-python');
    for (const [index, client] of clients.entries()) {
      const file = path.join(dir, `recipe_${index}.py`);
      writeFileSync(file, `${shared}\n${client}`);
      expect(() =>
        execFileSync('python3', ['-m', 'py_compile', file], { stdio: 'pipe' }),
      ).not.toThrow();
    }
  });

  it('would catch a Python syntax error (the check above can fail)', async (context) => {
    requirePython(context);
    const file = path.join(await makeTempDir('readme-python'), 'broken.py');
    writeFileSync(file, 'training = wr.athena.read_sql_query(\n');
    expect(() => execFileSync('python3', ['-m', 'py_compile', file], { stdio: 'pipe' })).toThrow();
  });

  it('runs EXECUTE with the literals in the order of the Parameters output, the range widened to ms, and no placeholder a user must fill', () => {
    expect(section).toContain(
      "EXECUTE fstore_churn_v1 USING 'run-2026-05-01', TIMESTAMP '2026-05-15 12:00:00', TIMESTAMP '2026-05-20 07:30:00', TIMESTAMP '2026-05-15 12:00:00'",
    );
    const [shared = '', , boto3 = ''] = codeBlocks(section, 'python');
    // The USING list comes from the stack's parameter order, the range rounded outward to ms.
    expect(shared).toContain('parameters = [literals[name] for name in service["parameters"]]');
    expect(shared).toContain('times.min().floor("ms"), times.max().ceil("ms")');
    expect(boto3).toContain('ExecutionParameters=parameters');
    for (const code of [...codeBlocks(section, 'python'), ...codeBlocks(section, 'sh')])
      expect(code).not.toMatch(/<[A-Za-z]+>|fstore_dev|fstore-dev/);
  });

  it('names its outputs (checked against the synthesized template in test/infra)', () => {
    expect(recipeOutputNames(section)).toEqual([
      'AthenaWorkGroup',
      'GlueDatabase',
      'LookupApiId',
      'LookupApiUrl',
      'OfflineBucketName',
      'ServiceChurnV1Parameters',
      'ServiceChurnV1RequestPrefix',
      'ServiceChurnV1RequestTable',
      'ServiceChurnV1Statement',
    ]);
  });
});
