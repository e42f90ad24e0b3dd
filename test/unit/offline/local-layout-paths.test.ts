import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ingestLockPath,
  ingestManifestPath,
  offlineRoot,
  stagingDir,
} from '../../../lib/offline/local-layout.ts';

describe('the local offline store layout', () => {
  const data = path.join('/work', '.fstore');

  it('keeps each environment apart, under <data>/<env>/offline', () => {
    expect(offlineRoot(data, 'dev')).toBe(path.join(data, 'dev', 'offline'));
    expect(offlineRoot(data, 'prod')).not.toBe(offlineRoot(data, 'dev'));
  });

  it('puts the manifest, the ingest lock and each staging folder in the offline root', () => {
    expect(ingestManifestPath(data, 'dev')).toBe(
      path.join(data, 'dev', 'offline', '_ingests.jsonl'),
    );
    expect(ingestLockPath(data, 'dev')).toBe(path.join(data, 'dev', 'offline', '_ingest.lock'));
    expect(stagingDir(data, 'dev', '20260301t000000-aaaaaaaa')).toBe(
      path.join(data, 'dev', 'offline', '_staging', '20260301t000000-aaaaaaaa'),
    );
  });
});
