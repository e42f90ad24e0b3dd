import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FileCoverageData } from 'istanbul-lib-coverage';
import { describe, expect, it } from 'vitest';
import { addChildCounts } from '../../../scripts/coverage/project-child-coverage.ts';
import { readChildCoverage } from '../../../scripts/coverage/read-child-coverage.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

// The loader that bin/fstore.mjs registers, as a URL: the temporary folder has no node_modules.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

// Lines and columns below are positions in this source, as vitest's coverage map gives them.
const moduleSource = `export function classify(n: number): string {
  if (n > 0) {
    return 'positive';
  }
  return n === 0 ? 'zero' : 'negative';
}

export function neverCalled(): number {
  return 42;
}

export function sign(n: number): number {
  if (n < 0) {
    return -1;
  } else {
    return 1;
  }
}

sign(Number(process.argv[2]));

console.log(classify(Number(process.argv[2])));
`;

const at = (line: number, column: number) => ({ line, column });
const span = (start: [number, number], end: [number, number]) => ({
  start: at(...start),
  end: at(...end),
});
const noPosition = { start: {}, end: {} } as unknown as ReturnType<typeof span>;

/** The map vitest's AST-aware conversion makes of moduleSource, with no in-process hits. */
function emptyCoverage(file: string): FileCoverageData {
  return {
    path: file,
    statementMap: {
      0: span([2, 2], [4, 3]),
      1: span([3, 4], [3, 22]),
      2: span([5, 2], [5, 40]),
      3: span([9, 2], [9, 12]),
    },
    fnMap: {
      0: { name: 'classify', decl: span([1, 16], [1, 24]), loc: span([1, 44], [6, 1]), line: 1 },
      1: {
        name: 'neverCalled',
        decl: span([8, 16], [8, 27]),
        loc: span([8, 38], [10, 1]),
        line: 8,
      },
    },
    branchMap: {
      0: {
        type: 'if',
        loc: span([2, 2], [4, 3]),
        locations: [span([2, 2], [4, 3]), noPosition],
        line: 2,
      },
      1: {
        type: 'cond-expr',
        loc: span([5, 9], [5, 39]),
        locations: [span([5, 19], [5, 25]), span([5, 28], [5, 38])],
        line: 5,
      },
      2: {
        type: 'if',
        loc: span([13, 2], [17, 3]),
        locations: [span([13, 2], [17, 3]), span([15, 9], [17, 3])],
        line: 13,
      },
    },
    s: { 0: 0, 1: 0, 2: 0, 3: 0 },
    f: { 0: 0, 1: 0 },
    b: { 0: [0, 0], 1: [0, 0], 2: [0, 0] },
  } as FileCoverageData;
}

/** Runs moduleSource through tsx in child processes, one per argument, with raw V8 coverage. */
async function runChildren(args: string[]) {
  const root = await makeTempDir('child-coverage');
  const file = path.join(root, 'classify.ts');
  await writeFile(file, moduleSource);
  await writeFile(path.join(root, 'package.json'), '{ "type": "module" }\n');
  const rawDir = path.join(root, 'raw');
  for (const arg of args) {
    const child = spawnSync(process.execPath, ['--import', tsxLoader, file, arg], {
      cwd: root,
      env: { ...process.env, NODE_V8_COVERAGE: rawDir },
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
  }
  return { root, file, children: await readChildCoverage(rawDir, root) };
}

describe('coverage recorded by child processes', () => {
  it('counts statements, functions and both arms of each branch at their own TypeScript positions', async () => {
    const { file, children } = await runChildren(['5', '-1', '-2']);
    const forms = children.scripts.get(file) ?? [];
    expect(forms.map((form) => form.processes)).toEqual([3]);

    const coverage = emptyCoverage(file);
    expect(addChildCounts(coverage, moduleSource, forms)).toEqual({ staleForms: 0 });

    expect(coverage.s).toEqual({ 0: 3, 1: 1, 2: 2, 3: 0 });
    expect(coverage.f).toEqual({ 0: 3, 1: 0 });
    expect(coverage.b).toEqual({ 0: [1, 2], 1: [0, 2], 2: [2, 1] });
  });

  it('adds to the counts of the in-process run instead of replacing them', async () => {
    const { file, children } = await runChildren(['0']);
    const coverage = emptyCoverage(file);
    coverage.s[3] = 4;
    coverage.f[1] = 4;
    coverage.b[1] = [1, 1];

    addChildCounts(coverage, moduleSource, children.scripts.get(file) ?? []);

    expect(coverage.s).toEqual({ 0: 1, 1: 0, 2: 1, 3: 4 });
    expect(coverage.f).toEqual({ 0: 1, 1: 4 });
    expect(coverage.b).toEqual({ 0: [0, 1], 1: [2, 1], 2: [0, 1] });
  });

  it('leaves out a run of an older version of the file, whose positions no longer match', async () => {
    const { file, children } = await runChildren(['5']);
    const edited = `// a comment that moves every line\n${await readFile(file, 'utf8')}`;
    const coverage = emptyCoverage(file);

    expect(addChildCounts(coverage, edited, children.scripts.get(file) ?? [])).toEqual({
      staleForms: 1,
    });
    expect(coverage.s).toEqual({ 0: 0, 1: 0, 2: 0, 3: 0 });
  });

  it('keeps only TypeScript files under the given root', async () => {
    const { root, children } = await runChildren(['5']);
    const files = [...children.scripts.keys()];
    expect(files).toEqual([path.join(root, 'classify.ts')]);
  });
});
