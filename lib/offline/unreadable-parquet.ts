/**
 * DuckDB's (1.5) messages for a file it cannot read as Parquet, each naming the file: measured
 * on an empty file, one cut short, random bytes, a footer length past the end and a damaged
 * body (test/integration/staged-object-unreadable.test.ts). Not any "Invalid Input Error":
 * DuckDB also says that of a value a readable file holds (a cast, a parse), which is no reason
 * to set the object aside.
 */
const unreadable = [
  /File '([^']+)' too small to be a Parquet file/,
  /No magic bytes found at end of file '([^']+)'/,
  /Footer length error in file '([^']+)'/,
  /Could not read enough bytes from file "([^"]+)"/,
];

/** The file of `files` that DuckDB's error `message` says is not readable Parquet, if any. */
export function unreadableParquetFile(
  message: string,
  files: readonly string[],
): string | undefined {
  for (const pattern of unreadable) {
    const named = pattern.exec(message)?.[1];
    if (named !== undefined && files.includes(named)) return named;
  }
  return undefined;
}
