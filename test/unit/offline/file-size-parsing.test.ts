import { describe, expect, it } from 'vitest';
import { minTargetFileBytes, parseFileSize } from '../../../lib/offline/parquet-layout.ts';

describe('parseFileSize: the target file size of ingest and compact', () => {
  it.each([
    ['67108864', 67_108_864],
    ['128MB', 128_000_000],
    ['128mib', 128 * 1024 ** 2],
    ['1GB', 1_000_000_000],
    ['1GiB', 1024 ** 3],
    ['2000kb', 2_000_000],
    ['2048KiB', 2 * 1024 ** 2],
    ['1048576b', 1_048_576],
    ['  1.5 MiB  ', 1.5 * 1024 ** 2],
    ['10.25mb', 10_250_000],
  ])('reads %j as %d bytes', (text, bytes) => {
    expect(parseFileSize(text, '--target-file-size')).toBe(bytes);
  });

  it.each([
    'MB',
    '12x',
    '-5MB',
    '5 M B',
    'a1MB',
    '1MB!',
    '1.MB',
    '.5GB',
    '1.5.5MB',
    '2 MB extra',
    '',
  ])('refuses %j, naming the option and the text', (text) => {
    expect(() => parseFileSize(text, '--target-file-size')).toThrow(
      `--target-file-size must be a size such as 128MB, 1GB or 67108864 (bytes); got "${text}"`,
    );
  });

  it('accepts exactly 1MiB and refuses one byte less', () => {
    expect(parseFileSize(String(minTargetFileBytes), 'x')).toBe(minTargetFileBytes);
    expect(() => parseFileSize(String(minTargetFileBytes - 1), '--target-file-size')).toThrow(
      `--target-file-size must be at least 1MiB (1048576 bytes); got "${minTargetFileBytes - 1}"`,
    );
  });

  it('throws a RangeError, so callers can tell bad input from a failure', () => {
    expect(() => parseFileSize('big', 'x')).toThrow(RangeError);
    expect(() => parseFileSize('1kb', 'x')).toThrow(RangeError);
  });
});
