import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDuckdb, spillOptions } from '../../../lib/offline/duckdb-session.ts';
import { firstWithin } from '../../../lib/offline/s3-push-ingest.ts';

const object = (key: string, size?: number) => ({ key, ...(size === undefined ? {} : { size }) });

describe('a staged-push batch', () => {
  it('takes the oldest objects up to the byte cap, always at least one, in order', () => {
    const objects = [object('a', 400), object('b', 400), object('c', 400), object('d', 1)];
    expect(firstWithin(objects, 800).map((o) => o.key)).toEqual(['a', 'b']);
    expect(firstWithin(objects, 1200).map((o) => o.key)).toEqual(['a', 'b', 'c']);
    expect(firstWithin([object('huge', 5000), object('b', 1)], 800).map((o) => o.key)).toEqual([
      'huge',
    ]);
    expect(firstWithin([], 800)).toEqual([]);
  });

  it('counts objects of unknown size as empty, so the count cap still bounds them', () => {
    expect(firstWithin([object('a'), object('b')], 1).map((o) => o.key)).toEqual(['a', 'b']);
  });
});

describe('DuckDB spill folder', () => {
  it('is under the temporary folder in a Lambda function, where the working directory is read-only', async () => {
    const options = spillOptions({ AWS_LAMBDA_FUNCTION_NAME: 'fstore-dev-push-compaction' });
    expect(path.isAbsolute(options.temp_directory ?? '')).toBe(true);
    expect(spillOptions({})).toEqual({});
    expect(spillOptions({ FSTORE_DUCKDB_TEMP_DIRECTORY: '/data/spill' })).toEqual({
      temp_directory: '/data/spill',
    });
  });

  it('is what a session opened inside a Lambda function uses', async () => {
    const before = process.env.AWS_LAMBDA_FUNCTION_NAME;
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'fstore-dev-push-compaction';
    const session = await openDuckdb();
    try {
      const reader = await session.connection.runAndReadAll(
        "SELECT current_setting('temp_directory') AS t",
      );
      const [row] = reader.getRowObjectsJson() as { t: string }[];
      expect(row?.t).toBe(spillOptions().temp_directory);
    } finally {
      session.close();
      if (before === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      else process.env.AWS_LAMBDA_FUNCTION_NAME = before;
    }
  });
});
