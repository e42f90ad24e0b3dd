import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** One shard of a coverage run, as scripts/coverage.sh --shard=I/N leaves it. */
export interface ShardFolder {
  index: number;
  dir: string;
  /** vitest's map of the shard's test workers; absent until vitest has ended. */
  inProcessMap?: string;
  /** Raw V8 coverage of the processes the shard's tests started (kept even if unfinished). */
  childRawDir?: string;
  /** vitest's exit code, from shard-status.json, written when the shard ended. */
  exitCode?: number;
}

export interface ShardSet {
  count: number;
  /** Shards whose run ended (a status file and an in-process map). */
  finished: ShardFolder[];
  /** Shards with a folder but no status or no map: stopped, or still running. */
  unfinished: ShardFolder[];
  /** Shard numbers that have no folder at all. */
  missing: number[];
}

const shardName = /^([1-9][0-9]*)-of-([1-9][0-9]*)$/;

/** Reads the shard folders under `root` (coverage/shards), which must all be of one run. */
export async function findShards(root: string): Promise<ShardSet> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    throw new Error(
      `no coverage shards in ${root}: run \`npm run test:coverage -- --shard=1/6\` (and 2/6 ... 6/6) first`,
      { cause: error },
    );
  }
  const parsed = names.flatMap((name) => {
    const match = shardName.exec(name);
    return match ? [{ name, index: Number(match[1]), count: Number(match[2]) }] : [];
  });
  const counts = [...new Set(parsed.map((shard) => shard.count))].sort((a, b) => a - b);
  if (counts.length === 0) {
    throw new Error(
      `no coverage shards in ${root} (folders named I-of-N): run \`npm run test:coverage -- --shard=1/6\` first`,
    );
  }
  if (counts.length > 1) {
    throw new Error(
      `${root} holds shards of runs split ${counts.map((n) => `${n} ways`).join(' and ')}: ` +
        'their files differ, so they cannot be added up; remove the folders of the run to leave out',
    );
  }
  const count = counts[0] as number;
  const finished: ShardFolder[] = [];
  const unfinished: ShardFolder[] = [];
  const missing: number[] = [];
  for (let index = 1; index <= count; index += 1) {
    const found = parsed.find((shard) => shard.index === index);
    if (!found) {
      missing.push(index);
      continue;
    }
    const shard = await readShard(path.join(root, found.name), index);
    (shard.exitCode !== undefined && shard.inProcessMap ? finished : unfinished).push(shard);
  }
  return { count, finished, unfinished, missing };
}

async function readShard(dir: string, index: number): Promise<ShardFolder> {
  const shard: ShardFolder = { index, dir };
  const inProcessMap = path.join(dir, 'in-process', 'coverage-final.json');
  if (await exists(inProcessMap)) shard.inProcessMap = inProcessMap;
  const childRawDir = path.join(dir, 'children-raw');
  if (await exists(childRawDir)) shard.childRawDir = childRawDir;
  const statusFile = path.join(dir, 'shard-status.json');
  if (await exists(statusFile)) {
    const status = JSON.parse(await readFile(statusFile, 'utf8')) as { exitCode?: unknown };
    if (typeof status.exitCode === 'number') shard.exitCode = status.exitCode;
  }
  return shard;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** What the report says about the shards: which count, which failed, which are not there. */
export function describeShards(set: ShardSet): string[] {
  const lines = [
    `shards of ${set.count}: ${set.finished.length} finished` +
      (set.finished.length > 0 ? ` (${set.finished.map((s) => s.index).join(', ')})` : ''),
  ];
  const failed = set.finished.filter((shard) => shard.exitCode !== 0);
  if (failed.length > 0)
    lines.push(
      `tests failed in shard ${failed.map((s) => `${s.index}/${set.count} (exit ${s.exitCode})`).join(', ')}: see its log`,
    );
  for (const shard of set.unfinished)
    lines.push(
      `shard ${shard.index}/${set.count} unfinished (stopped or still running): its child processes are counted, its in-process map is missing`,
    );
  for (const index of set.missing)
    lines.push(
      `shard ${index}/${set.count} missing: run \`npm run test:coverage -- --shard=${index}/${set.count}\``,
    );
  if (set.unfinished.length + set.missing.length > 0)
    lines.push(
      'the figures below are partial: they cover the finished shards and what the child processes of unfinished ones recorded',
    );
  return lines;
}
