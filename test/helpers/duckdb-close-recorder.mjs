// `node --import ./duckdb-close-recorder.mjs`: appends to the file named by FSTORE_DUCKDB_LOG
// one line per DuckDB database the process starts opening ("opening"), has opened ("open") and
// closes ("close"), as DuckDB's native bindings see them, whichever copy of @duckdb/node-api
// calls them (the CLI bundle's or node_modules'): their require of @duckdb/node-bindings gets a
// recording view of it.
import { appendFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';

const log = process.env.FSTORE_DUCKDB_LOG;
if (!log) throw new Error('duckdb-close-recorder.mjs: set FSTORE_DUCKDB_LOG to the file to write');
writeFileSync(log, '');

const recorded = new WeakMap();
/** The bindings with open and close_sync recorded (theirs are read-only: defined on a view). */
function recording(bindings) {
  if (!recorded.has(bindings)) {
    const view = Object.create(bindings, {
      open: {
        value: async (...args) => {
          appendFileSync(log, 'opening\n');
          const database = await bindings.open(...args);
          appendFileSync(log, 'open\n');
          return database;
        },
      },
      close_sync: {
        value: (...args) => {
          appendFileSync(log, 'close\n');
          return bindings.close_sync(...args);
        },
      },
    });
    recorded.set(bindings, view);
  }
  return recorded.get(bindings);
}

const load = Module._load;
Module._load = function (request, ...rest) {
  const loaded = load.call(this, request, ...rest);
  return request === '@duckdb/node-bindings' ? recording(loaded) : loaded;
};
