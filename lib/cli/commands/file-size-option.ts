import { InvalidArgumentError, Option } from 'commander';
import { defaultTargetFileBytes, parseFileSize } from '../../offline/parquet-layout.ts';

/**
 * `--target-file-size <size>` (env FSTORE_TARGET_FILE_SIZE), in bytes, shared by ingest and
 * compact so both aim for the same files.
 */
export function targetFileSizeOption(): Option {
  return new Option(
    '--target-file-size <size>',
    `size data files aim for per dt partition, e.g. 128MB, 1GiB (default ${defaultTargetFileBytes / 1024 ** 2}MiB)`,
  )
    .env('FSTORE_TARGET_FILE_SIZE')
    .argParser((text: string) => {
      try {
        return parseFileSize(text, '--target-file-size');
      } catch (error) {
        throw new InvalidArgumentError((error as Error).message);
      }
    });
}
