import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Registry } from '../registry/index.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { openDuckdb, queryRows } from './duckdb-session.ts';
import { syncFile, syncFolder } from './ingest-manifest.ts';
import { interruptOnAbort } from './interrupt-on-abort.ts';
import { loadEntities } from './load-entities.ts';
import {
  checkRequestColumns,
  columnTypesOf,
  planOnDemandTrainingSet,
  registerOnDemandColumns,
} from './on-demand-columns.ts';
import { inputFormat } from './read-input-file.ts';
import { CSV_COPY_OPTIONS } from './training-set.ts';

export interface AthenaResultFileOptions {
  readonly registry: Registry;
  readonly service: string;
  /** The downloaded Parquet parts of the UNLOAD: row_key, join keys, event_timestamp, features. */
  readonly files: readonly string[];
  /** The entity file the request was made from: its row numbers are the parts' row_key. */
  readonly entities: string;
  readonly timestampColumn: string;
  readonly out: string;
  readonly onTransformError?: 'fail' | 'null';
  /** Stops the work (as getTrainingSet's): rejects with the signal's reason, a half-written `out` removed. */
  readonly signal?: AbortSignal;
}

/**
 * Writes an Athena training set's downloaded parts to `out` (.csv or Parquet) in entity-file
 * order. A service with on-demand features gets them here, as a local training set does: each
 * part row meets its entity-file row by row number for the request values, the transforms run
 * over the hidden inputs Athena returned (`fstore_in_<n>`), and those inputs are left out.
 */
export async function writeAthenaResultFile(
  options: AthenaResultFileOptions,
): Promise<{ transformErrors?: { rows: number; first?: string } }> {
  const format =
    path.extname(options.out).toLowerCase() === '.csv' ? CSV_COPY_OPTIONS : 'FORMAT parquet';
  const parts = `read_parquet([${options.files.map(quoteLiteral).join(', ')}])`;
  const onDemand = planOnDemandTrainingSet(options.registry, { service: options.service }, false);
  options.signal?.throwIfAborted();
  const session = await openDuckdb();
  const stopInterrupting = interruptOnAbort(session.connection, options.signal);
  try {
    const { connection } = session;
    if (!onDemand) {
      // A COPY stopped half-way leaves a new file behind (an existing one is replaced when done).
      const outExisted = existsSync(options.out);
      await connection
        .run(
          `COPY (SELECT * FROM ${parts} ORDER BY CAST(row_key AS BIGINT)) TO ${quoteLiteral(options.out)} (${format})`,
        )
        .catch(async (error: unknown) => {
          if (!outExisted) await rm(options.out, { force: true });
          throw error;
        });
      await syncFile(options.out);
      await syncFolder(path.dirname(options.out));
      return {};
    }
    const partColumns = (await queryRows(connection, `DESCRIBE SELECT * FROM ${parts}`)).map((r) =>
      String(r.column_name),
    );
    const missing = onDemand.inputs.filter((i) => !partColumns.includes(i.outputName));
    if (missing.length > 0)
      throw new Error(
        `the Athena result has no column ${missing.map((i) => `${i.outputName} (${i.view}.${i.feature})`).join(', ')}: the on-demand transforms cannot run without their inputs`,
      );
    const entities = await loadEntities(connection, options.entities, {
      timestampColumn: options.timestampColumn,
      joinKeys: [],
      textColumns: onDemand.requestFields.map((f) => f.name),
    });
    const requestAsText = inputFormat(options.entities) === 'csv';
    const entityTypes = await columnTypesOf(connection, entities.table);
    checkRequestColumns(onDemand, entityTypes, options.entities, {
      timestampColumn: options.timestampColumn,
      requestAsText,
    });
    const hidden = new Set(onDemand.inputs.map((i) => i.outputName));
    const requestNames = onDemand.requestFields.map((f) => f.name);
    const kept = [
      ...partColumns.filter((c) => !hidden.has(c) && !requestNames.includes(c)),
      ...requestNames,
    ];
    const shadowed = requestNames.filter((n) => partColumns.includes(n));
    const joined = [
      `SELECT p.*${shadowed.length > 0 ? ` EXCLUDE (${shadowed.map(quoteIdentifier).join(', ')})` : ''},`,
      `  ${requestNames.map((n) => `e.${quoteIdentifier(n)}`).join(', ')}, e.fstore_row_id`,
      `FROM ${parts} p JOIN ${quoteIdentifier(entities.table)} e ON e.fstore_row_id = CAST(p.row_key AS BIGINT)`,
      'ORDER BY e.fstore_row_id',
    ].join('\n');
    const columns = registerOnDemandColumns(connection, onDemand, {
      onError: options.onTransformError ?? 'fail',
      columnTypes: entityTypes,
      requestAsText,
      signal: options.signal,
    });
    // The query runs on past a failing row (the lowest one is named): an existing file is
    // replaced only by a complete result, written beside it and renamed over it.
    const written = existsSync(options.out)
      ? path.join(path.dirname(options.out), `.${path.basename(options.out)}.fstore-${process.pid}`)
      : options.out;
    try {
      await connection.run(
        `COPY (${columns.select(joined, kept)}) TO ${quoteLiteral(written)} (${format})`,
      );
    } catch (error) {
      await rm(written, { force: true });
      options.signal?.throwIfAborted();
      throw columns.failure() ?? error;
    }
    const failed = columns.failure();
    if (failed) {
      await rm(written, { force: true });
      throw failed;
    }
    // On disk before it takes the name and before the manifest naming its hash is written (the
    // command may end its process without closing DuckDB: lib/process-lifetime.ts).
    await syncFile(written);
    if (written !== options.out) await rename(written, options.out);
    await syncFolder(path.dirname(options.out));
    const nulled = columns.nulled();
    return nulled.rows > 0 ? { transformErrors: nulled } : {};
  } catch (error) {
    options.signal?.throwIfAborted();
    throw error;
  } finally {
    stopInterrupting();
    session.close();
  }
}
