import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FileCoverageData } from 'istanbul-lib-coverage';
import { describe, expect, it } from 'vitest';
import { mergeInProcessMaps } from '../../../scripts/coverage/merge-in-process.ts';
import { readChildCoverage } from '../../../scripts/coverage/read-child-coverage.ts';
import { describeShards, findShards } from '../../../scripts/coverage/shard-folders.ts';
import { makeTempDir, repoRoot } from '../../helpers/run-fstore.ts';

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const at = (line: number, column: number) => ({ line, column });
const span = (start: [number, number], end: [number, number]) => ({
  start: at(...start),
  end: at(...end),
});

/** One file's map as vitest writes it, with the counts given. */
function fileMap(
  file: string,
  counts: { s: [number, number]; f: [number]; b: [number, number] },
): FileCoverageData {
  return {
    path: file,
    statementMap: { 0: span([2, 2], [2, 20]), 1: span([3, 2], [3, 20]) },
    fnMap: { 0: { name: 'f', decl: span([1, 9], [1, 10]), loc: span([1, 13], [4, 1]), line: 1 } },
    branchMap: {
      0: {
        type: 'cond-expr',
        loc: span([2, 9], [2, 19]),
        locations: [span([2, 13], [2, 14]), span([2, 17], [2, 18])],
        line: 2,
      },
    },
    s: { 0: counts.s[0], 1: counts.s[1] },
    f: { 0: counts.f[0] },
    b: { 0: counts.b },
  };
}

/** A shard folder as scripts/coverage.sh --shard leaves it; `finished: false` as if stopped. */
async function writeShard(
  root: string,
  name: string,
  maps: FileCoverageData[],
  options: { finished?: boolean; exitCode?: number } = {},
): Promise<void> {
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'children-raw'), { recursive: true });
  if (options.finished === false) return;
  await mkdir(path.join(dir, 'in-process'), { recursive: true });
  const data = Object.fromEntries(maps.map((map) => [map.path, map]));
  await writeFile(path.join(dir, 'in-process', 'coverage-final.json'), JSON.stringify(data));
  await writeFile(
    path.join(dir, 'shard-status.json'),
    JSON.stringify({ shard: name, exitCode: options.exitCode ?? 0 }),
  );
}

describe('coverage run in shards', () => {
  it("adds two shards' counts of the same file, entry by entry", async () => {
    const root = await makeTempDir('coverage-shards');
    const file = path.join(root, 'a.ts');
    const other = path.join(root, 'b.ts');
    await writeShard(root, '1-of-2', [
      fileMap(file, { s: [1, 0], f: [1], b: [1, 0] }),
      fileMap(other, { s: [0, 0], f: [0], b: [0, 0] }),
    ]);
    await writeShard(root, '2-of-2', [
      fileMap(file, { s: [2, 3], f: [2], b: [0, 4] }),
      fileMap(other, { s: [0, 5], f: [5], b: [0, 0] }),
    ]);

    const shards = await findShards(root);
    const merged = await mergeInProcessMaps(shards.finished.map((s) => s.inProcessMap ?? ''));

    expect(merged.differingFiles).toEqual([]);
    const a = merged.map.fileCoverageFor(file).data;
    expect([a.s, a.f, a.b]).toEqual([{ 0: 3, 1: 3 }, { 0: 3 }, { 0: [1, 4] }]);
    const b = merged.map.fileCoverageFor(other).data;
    expect(b.s).toEqual({ 0: 0, 1: 5 });
    expect(merged.map.fileCoverageFor(file).toSummary().statements.pct).toBe(100);
  });

  it('adds a file mapped differently by two shards by location, and says so', async () => {
    const root = await makeTempDir('coverage-shards');
    const file = path.join(root, 'a.ts');
    const moved = fileMap(file, { s: [0, 7], f: [0], b: [0, 0] });
    moved.statementMap = { 0: span([2, 2], [2, 20]), 1: span([5, 2], [5, 20]) };
    await writeShard(root, '1-of-2', [fileMap(file, { s: [1, 0], f: [1], b: [1, 0] })]);
    await writeShard(root, '2-of-2', [moved]);

    const shards = await findShards(root);
    const merged = await mergeInProcessMaps(shards.finished.map((s) => s.inProcessMap ?? ''));

    expect(merged.differingFiles).toEqual([file]);
    const counts = Object.values(merged.map.fileCoverageFor(file).data.s).sort();
    expect(counts).toEqual([0, 1, 7]);
  });

  it('names the shards missing, unfinished and failed', async () => {
    const root = await makeTempDir('coverage-shards');
    const file = path.join(root, 'a.ts');
    await writeShard(root, '1-of-4', [fileMap(file, { s: [1, 0], f: [1], b: [1, 0] })]);
    await writeShard(root, '2-of-4', [], { finished: false });
    await writeShard(root, '4-of-4', [fileMap(file, { s: [1, 0], f: [1], b: [1, 0] })], {
      exitCode: 1,
    });

    const shards = await findShards(root);

    expect(shards.count).toBe(4);
    expect(shards.finished.map((s) => s.index)).toEqual([1, 4]);
    expect(shards.unfinished.map((s) => s.index)).toEqual([2]);
    expect(shards.missing).toEqual([3]);
    const text = describeShards(shards).join('\n');
    expect(text).toContain('shards of 4: 2 finished (1, 4)');
    expect(text).toContain('tests failed in shard 4/4 (exit 1)');
    expect(text).toContain('shard 2/4 unfinished');
    expect(text).toContain('shard 3/4 missing: run `npm run test:coverage -- --shard=3/4`');
    expect(text).toContain(
      'partial: they cover the finished shards and what the child processes of unfinished ones recorded',
    );
  });

  it('says nothing is partial when every shard finished', async () => {
    const root = await makeTempDir('coverage-shards');
    const file = path.join(root, 'a.ts');
    await writeShard(root, '1-of-2', [fileMap(file, { s: [1, 0], f: [1], b: [1, 0] })]);
    await writeShard(root, '2-of-2', [fileMap(file, { s: [1, 0], f: [1], b: [1, 0] })]);

    expect(describeShards(await findShards(root))).toEqual(['shards of 2: 2 finished (1, 2)']);
  });

  it('refuses shards of runs split a different number of ways, and an empty folder', async () => {
    const root = await makeTempDir('coverage-shards');
    await expect(findShards(root)).rejects.toThrow(/no coverage shards in .*--shard=1\/6/);
    const file = path.join(root, 'a.ts');
    await writeShard(root, '1-of-6', [fileMap(file, { s: [1, 0], f: [1], b: [1, 0] })]);
    await writeShard(root, '2-of-4', [fileMap(file, { s: [1, 0], f: [1], b: [1, 0] })]);

    await expect(findShards(root)).rejects.toThrow(
      /holds shards of runs split 4 ways and 6 ways: .*cannot be added up/,
    );
  });

  it("adds up the child processes recorded in several shards' folders", async () => {
    const root = await makeTempDir('coverage-shards');
    const file = path.join(root, 'count.ts');
    await writeFile(file, 'export const twice = (n: number): number => n * 2;\ntwice(1);\n');
    await writeFile(path.join(root, 'package.json'), '{ "type": "module" }\n');
    const rawDirs = [path.join(root, '1-of-2', 'raw'), path.join(root, '2-of-2', 'raw')];
    for (const rawDir of [...rawDirs, rawDirs[1] as string]) {
      const child = spawnSync(process.execPath, ['--import', tsxLoader, file], {
        cwd: root,
        env: { ...process.env, NODE_V8_COVERAGE: rawDir },
        encoding: 'utf8',
      });
      expect(child.status).toBe(0);
    }

    const children = await readChildCoverage(rawDirs, root);

    const written = await Promise.all(rawDirs.map((dir) => readdir(dir)));
    expect(children.rawFiles).toBe(written.flat().length);
    expect((children.scripts.get(file) ?? []).map((form) => form.processes)).toEqual([3]);
  });

  it('leaves out a half-written raw file only when told to (a shard still running)', async () => {
    const root = await makeTempDir('coverage-shards');
    const rawDir = path.join(root, '2-of-2', 'children-raw');
    await mkdir(rawDir, { recursive: true });
    await writeFile(path.join(rawDir, 'coverage-1-2-3.json'), '{"result":[{"url":"fi');

    await expect(readChildCoverage([rawDir], root)).rejects.toThrow(/is not valid JSON/);
    const tolerant = await readChildCoverage([rawDir], root, { skipUnreadable: true });
    expect(tolerant.unreadableFiles).toEqual([path.join(rawDir, 'coverage-1-2-3.json')]);
    expect(tolerant.scripts.size).toBe(0);
  });

  it('reports finished shards and the child processes of an unfinished one, per directory', async () => {
    const root = await makeTempDir('coverage-shards');
    const src = path.join(root, 'src');
    await mkdir(src);
    const file = path.join(src, 'pick.ts');
    // Positions below are those of this source, as vitest's map gives them.
    await writeFile(
      file,
      'export function pick(x: boolean): number {\n  const a = x ? 1 : 2;\n  return a;\n}\npick(process.argv[2] === "yes");\n',
    );
    await writeFile(path.join(src, 'package.json'), '{ "type": "module" }\n');
    const unloaded: FileCoverageData = {
      path: file,
      statementMap: { 0: span([2, 2], [2, 22]), 1: span([3, 2], [3, 11]) },
      fnMap: {
        0: { name: 'pick', decl: span([1, 16], [1, 20]), loc: span([1, 41], [4, 1]), line: 1 },
      },
      branchMap: {
        0: {
          type: 'cond-expr',
          loc: span([2, 12], [2, 21]),
          locations: [span([2, 16], [2, 17]), span([2, 20], [2, 21])],
          line: 2,
        },
      },
      s: { 0: 0, 1: 0 },
      f: { 0: 0 },
      b: { 0: [0, 0] },
    };
    const shardsRoot = path.join(root, 'shards');
    await writeShard(shardsRoot, '1-of-3', [unloaded]);
    await writeShard(shardsRoot, '2-of-3', [], { finished: false });
    for (const arg of ['yes', 'no']) {
      const child = spawnSync(process.execPath, ['--import', tsxLoader, file, arg], {
        cwd: src,
        env: { ...process.env, NODE_V8_COVERAGE: path.join(shardsRoot, '2-of-3', 'children-raw') },
        encoding: 'utf8',
      });
      expect(child.status).toBe(0);
    }

    const report = spawnSync(
      process.execPath,
      [
        '--import',
        tsxLoader,
        path.join(repoRoot, 'scripts/coverage/report-shards.ts'),
        shardsRoot,
        path.join(root, 'out'),
        src,
      ],
      { encoding: 'utf8' },
    );

    expect(report.stderr).toBe('');
    expect(report.status).toBe(0);
    expect(report.stdout).toContain('shard 2/3 unfinished');
    expect(report.stdout).toContain('shard 3/3 missing');
    const [inProcessOnly, withChildren] = report.stdout
      .split('\n')
      .filter((line) => line.startsWith('all of lib'));
    expect(inProcessOnly).toMatch(/ 0\.0 % +0\/2 \| +0\.0 % +0\/2 \| +0\.0 % +0\/1 \|/);
    // Both arms of the conditional: one child took each.
    expect(withChildren).toMatch(/100\.0 % +2\/2 \| 100\.0 % +2\/2 \| 100\.0 % +1\/1 \|/);
  });
});
