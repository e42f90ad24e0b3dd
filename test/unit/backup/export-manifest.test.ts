import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  exportedTopLevel,
  exportManifestName,
  isExportablePath,
  sha256OfFile,
  verifiedExport,
} from '../../../lib/backup/export-manifest.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('isExportablePath', () => {
  it('accepts a plain relative path under each name an export holds', () => {
    for (const top of exportedTopLevel) {
      expect(isExportablePath(top), top).toBe(true);
      expect(isExportablePath(`${top}/dt=2026-03-01/part-0.parquet`), top).toBe(true);
    }
  });

  it('refuses absolute paths, backslashes, NUL bytes, empty, . and .. segments', () => {
    for (const bad of [
      '/registry.json',
      'offline\\orders\\a.parquet',
      'offline/a\\b',
      'offline/a\0b',
      '',
      'offline//a',
      'offline/',
      './registry.json',
      'offline/./a',
      'offline/../../etc/passwd',
      '..',
    ])
      expect(isExportablePath(bad), JSON.stringify(bad)).toBe(false);
  });

  it('refuses a name an export does not hold, at the top level only', () => {
    expect(isExportablePath('secrets.json')).toBe(false);
    expect(isExportablePath('registry.json.bak')).toBe(false);
    expect(isExportablePath('data/offline/a.parquet')).toBe(false);
  });
});

/** An export folder holding `files` (path → content) and a manifest listing `listed`. */
async function exportFolder(
  files: Record<string, string>,
  manifest: Record<string, unknown> = {},
  listed = Object.entries(files).map(([p, text]) => ({
    path: p,
    bytes: Buffer.byteLength(text),
    sha256: sha256(text),
  })),
): Promise<string> {
  const dir = await makeTempDir('export-manifest');
  for (const [relative, text] of Object.entries(files)) {
    const file = path.join(dir, ...relative.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  }
  await writeFile(
    path.join(dir, exportManifestName),
    JSON.stringify({
      format: 'fstore-export',
      version: 1,
      fstoreVersion: '0.1.0',
      env: 'dev',
      exportedAt: '2026-03-01T00:00:00.000Z',
      includesData: true,
      files: listed,
      ...manifest,
    }),
  );
  return dir;
}

describe('verifiedExport', () => {
  it('returns the manifest of an intact export, local when it names no origin', async () => {
    const dir = await exportFolder({ 'registry.json': '{}', 'offline/orders/a.parquet': 'PAR1' });
    const manifest = await verifiedExport(dir);
    expect(manifest.origin).toBe('local');
    expect(manifest.files.map((f) => f.path)).toEqual([
      'registry.json',
      'offline/orders/a.parquet',
    ]);
    const aws = await exportFolder(
      { 'offline-bucket/offline/orders/a.parquet': 'PAR1' },
      {
        origin: 'aws',
      },
    );
    expect((await verifiedExport(aws)).origin).toBe('aws');
  });

  it('says a folder without a manifest, or a file, is not an export', async () => {
    const dir = await makeTempDir('export-manifest');
    await expect(verifiedExport(dir)).rejects.toMatchObject({
      message: `${dir} is not an fstore export: it has no ${exportManifestName}`,
      hint: expect.stringContaining('fstore export --out <dir>'),
    });
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'x');
    await expect(verifiedExport(file)).rejects.toThrow(`${file} is not an fstore export`);
    // A manifest that cannot be read for another reason is not called missing.
    const unreadable = await makeTempDir('export-manifest');
    await mkdir(path.join(unreadable, exportManifestName));
    await expect(verifiedExport(unreadable)).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('refuses a manifest that is not JSON, or has a wrong field, naming the field', async () => {
    const dir = await exportFolder({});
    const manifestFile = path.join(dir, exportManifestName);
    await writeFile(manifestFile, '{"format": "fstore-export",');
    await expect(verifiedExport(dir)).rejects.toMatchObject({
      message: expect.stringMatching(
        new RegExp(`^${manifestFile} is not a manifest this fstore reads: the file: `),
      ),
      hint: expect.stringContaining('never edited by hand'),
    });
    await expect(verifiedExport(await exportFolder({}, { version: 2 }))).rejects.toThrow(
      /is not a manifest this fstore reads: version: /,
    );
    const badHash = await exportFolder({}, {}, [{ path: 'registry.json', bytes: 2, sha256: 'x' }]);
    await expect(verifiedExport(badHash)).rejects.toThrow(
      /is not a manifest this fstore reads: files\.0\.sha256: /,
    );
  });

  it('refuses a listed path an export does not hold, and one listed twice', async () => {
    const outside = await exportFolder({}, {}, [
      { path: '../escape.json', bytes: 0, sha256: sha256('') },
    ]);
    await expect(verifiedExport(outside)).rejects.toMatchObject({
      message: `${path.join(outside, exportManifestName)} lists "../escape.json", which is not a path an export holds`,
      hint: `an export holds only ${exportedTopLevel.join(', ')} (relative paths without . or ..); export again`,
    });
    const entry = { path: 'registry.json', bytes: 2, sha256: sha256('{}') };
    const twice = await exportFolder({ 'registry.json': '{}' }, {}, [entry, entry]);
    await expect(verifiedExport(twice)).rejects.toMatchObject({
      message: `${path.join(twice, exportManifestName)} lists "registry.json" twice`,
      hint: 'export again',
    });
  });

  it('refuses a path only the other origin holds', async () => {
    const local = await exportFolder({ 'offline-bucket/offline/a.parquet': 'PAR1' });
    await expect(verifiedExport(local)).rejects.toMatchObject({
      message: expect.stringContaining(
        'lists "offline-bucket/offline/a.parquet", which an export of a local environment does not hold',
      ),
      hint: 'export again; the manifest is written by fstore export and never edited by hand',
    });
    const aws = await exportFolder({ 'offline/orders/a.parquet': 'PAR1' }, { origin: 'aws' });
    await expect(verifiedExport(aws)).rejects.toThrow(
      'lists "offline/orders/a.parquet", which an export of an AWS environment does not hold',
    );
  });

  it('refuses a listed file that is missing, a folder or a link', async () => {
    const missing = await exportFolder({}, {}, [
      { path: 'lineage.json', bytes: 2, sha256: sha256('{}') },
    ]);
    await expect(verifiedExport(missing)).rejects.toMatchObject({
      message: `lineage.json of the export in ${missing} is missing`,
      hint: expect.stringContaining('incomplete or was changed'),
    });
    const folder = await exportFolder({ 'audit/entries.jsonl': '' }, {}, [
      { path: 'audit', bytes: 0, sha256: sha256('') },
    ]);
    await expect(verifiedExport(folder)).rejects.toThrow(
      `audit of the export in ${folder} is not a regular file`,
    );
    const entry = { bytes: 2, sha256: sha256('{}') };
    const withLink = await exportFolder({ 'registry.json': '{}' }, {}, [
      { path: 'registry.json', ...entry },
      { path: 'lineage.json', ...entry },
    ]);
    await symlink(path.join(withLink, 'registry.json'), path.join(withLink, 'lineage.json'));
    await expect(verifiedExport(withLink)).rejects.toThrow(
      `lineage.json of the export in ${withLink} is not a regular file`,
    );
  });

  it('refuses a file of another size or content, saying which', async () => {
    const resized = await exportFolder({ 'registry.json': '{"a":1}' }, {}, [
      { path: 'registry.json', bytes: 2, sha256: sha256('{"a":1}') },
    ]);
    await expect(verifiedExport(resized)).rejects.toMatchObject({
      message: `registry.json of the export in ${resized} is damaged: its size is 7 bytes, not 2`,
      hint: expect.stringContaining('its disk failed'),
    });
    const changed = await exportFolder({ 'registry.json': '{"a":2}' }, {}, [
      { path: 'registry.json', bytes: 7, sha256: sha256('{"a":1}') },
    ]);
    await expect(verifiedExport(changed)).rejects.toThrow(
      `registry.json of the export in ${changed} is damaged: its sha256 differs from the manifest’s`,
    );
  });
});

describe('sha256OfFile', () => {
  it('is the SHA-256 of the file’s bytes, in hex', async () => {
    const dir = await makeTempDir('export-manifest');
    const file = path.join(dir, 'a');
    await writeFile(file, 'fstore');
    expect(await sha256OfFile(file)).toBe(sha256('fstore'));
  });
});
