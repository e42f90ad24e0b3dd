// Telling a source edited while esbuild compiled it, without the wall clock: each file's size and
// mtime are recorded just before esbuild reads it and compared after the build. Comparing an
// mtime with the build's start failed every build of a file dated ahead of the clock (a tarball
// from a machine whose clock is ahead, a clock stepped back). Plain JavaScript, like its users.
import { statSync } from 'node:fs';

/** An esbuild plugin: records into `stats` (path -> { size, mtimeMs }) each file it is to read. */
export function recordReadStats(stats) {
  return {
    name: 'fstore-record-read-stats',
    setup(build) {
      build.onLoad({ filter: /.*/, namespace: 'file' }, (args) => {
        stats.set(args.path, sizeAndMtime(statSync(args.path)));
        return undefined;
      });
    },
  };
}

export const sizeAndMtime = (info) => ({ size: info.size, mtimeMs: info.mtimeMs });

/** Whether `file`, now `info` (a stat), differs from its recorded read; unrecorded counts as not. */
export function changedSinceRead(stats, file, info) {
  const read = stats.get(file);
  return read !== undefined && (read.size !== info.size || read.mtimeMs !== info.mtimeMs);
}
