/**
 * Up to this many entity rows, a local training set runs DuckDB on one thread. Such a request
 * reads a few rows of each of a few dozen small day files (latest-row-days.ts), in tasks too
 * short to share: a second thread mostly waits and wakes, which cost a 10-row request on a
 * 10M-row store about a quarter of its query CPU.
 */
export const SINGLE_THREAD_MAX_ROWS = 100;
