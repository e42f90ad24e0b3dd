import path from 'node:path';
import { UsageError } from '../cli-error.ts';

/** --out, required unless --dry-run (which writes nothing). */
export function requireOut(options: { readonly out?: string | undefined }): string {
  if (!options.out)
    throw new UsageError(
      'pass --out <file> for the result (.parquet or .csv)',
      'or --dry-run to see what the training set would read first',
    );
  return options.out;
}

/** `dir/.name.partial-<pid>.ext`: beside the result, with its extension (it picks the format). */
export function partialPath(out: string): string {
  const ext = path.extname(out);
  return path.join(path.dirname(out), `.${path.basename(out, ext)}.partial-${process.pid}${ext}`);
}
