import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDurably, writeInPlace } from '../../../lib/push/write-durably.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

describe('writeDurably', () => {
  it('replaces the file whole and leaves no temporary behind', async () => {
    const dir = await makeTempDir('durable-write');
    const file = path.join(dir, 'a.jsonl');
    await writeFile(file, 'old\n');
    await writeDurably(file, 'new\n');
    expect(await readFile(file, 'utf8')).toBe('new\n');
    expect(await readdir(dir)).toEqual(['a.jsonl']);
  });

  it('removes its temporary when the rename fails, changing nothing', async () => {
    const dir = await makeTempDir('durable-write-fail');
    const file = path.join(dir, 'taken');
    await mkdir(path.join(file, 'inside'), { recursive: true }); // a non-empty folder: rename fails
    await expect(writeDurably(file, 'rows\n')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken']);
    expect(await readdir(file)).toEqual(['inside']);
  });

  it('exclusive: refuses a temporary that already exists and leaves it to its writer', async () => {
    const dir = await makeTempDir('durable-write-exclusive');
    const file = path.join(dir, 'log.jsonl');
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, 'someone else');
    await expect(writeDurably(file, 'rows\n', { exclusive: true })).rejects.toThrow(/EEXIST/);
    expect(await readFile(temporary, 'utf8')).toBe('someone else');
    expect(await readdir(dir)).toEqual([path.basename(temporary)]);
  });
});

describe('writeInPlace', () => {
  it('leaves the file whole under its name with no temporary, its folder not yet synced by it', async () => {
    const dir = await makeTempDir('durable-write-in-place');
    const file = path.join(dir, 'log.jsonl');
    await writeInPlace(file, 'rows\n', { exclusive: true });
    expect(await readFile(file, 'utf8')).toBe('rows\n');
    expect(await readdir(dir)).toEqual(['log.jsonl']);
  });

  it('removes its temporary when the rename fails, changing nothing', async () => {
    const dir = await makeTempDir('durable-write-in-place-fail');
    const file = path.join(dir, 'taken');
    await mkdir(path.join(file, 'inside'), { recursive: true });
    await expect(writeInPlace(file, 'rows\n')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken']);
  });
});
