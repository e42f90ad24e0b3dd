import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { withCanonicalCsv } from './canonical-rows.ts';

/** How two training set files differ, row by row in file order. */
export interface TrainingSetDiff {
  readonly expectedRows: number;
  readonly actualRows: number;
  /** The columns of the two headers when they differ. */
  readonly columns?: { readonly expected: readonly string[]; readonly actual: readonly string[] };
  /** The first row (1-based, header not counted) whose values differ, and the columns that do. */
  readonly firstDifferentRow?: {
    readonly row: number;
    readonly columns: readonly string[];
    readonly expected: string;
    readonly actual: string;
  };
  /** Rows that differ in all (rows present in one file only included). */
  readonly differentRows: number;
}

/** Compares the rows of two training set files (their canonical CSV, see canonical-rows.ts). */
export async function diffTrainingSets(expected: string, actual: string): Promise<TrainingSetDiff> {
  return withCanonicalCsv(expected, (left) =>
    withCanonicalCsv(actual, (right) => diffCanonicalCsv(left, right)),
  );
}

async function diffCanonicalCsv(left: string, right: string): Promise<TrainingSetDiff> {
  const a = lines(left);
  const b = lines(right);
  const headerA = splitCsvLine((await a.next()).value ?? '');
  const headerB = splitCsvLine((await b.next()).value ?? '');
  const sameHeader = headerA.join('\n') === headerB.join('\n');
  let expectedRows = 0;
  let actualRows = 0;
  let differentRows = 0;
  let first: TrainingSetDiff['firstDifferentRow'];
  for (;;) {
    const [x, y] = await Promise.all([a.next(), b.next()]);
    if (x.done && y.done) break;
    if (!x.done) expectedRows++;
    if (!y.done) actualRows++;
    if (!x.done && !y.done && x.value === y.value) continue;
    differentRows++;
    if (first) continue;
    const row = Math.max(expectedRows, actualRows);
    const valuesA = x.done ? [] : splitCsvLine(x.value);
    const valuesB = y.done ? [] : splitCsvLine(y.value);
    const names = sameHeader ? headerA : [...new Set([...headerA, ...headerB])];
    const columns = names.filter(
      (name) => valuesA[headerA.indexOf(name)] !== valuesB[headerB.indexOf(name)],
    );
    first = {
      row,
      columns,
      expected: x.done ? '(no row)' : x.value,
      actual: y.done ? '(no row)' : y.value,
    };
  }
  return {
    expectedRows,
    actualRows,
    differentRows,
    ...(sameHeader ? {} : { columns: { expected: headerA, actual: headerB } }),
    ...(first ? { firstDifferentRow: first } : {}),
  };
}

function lines(file: string): AsyncIterator<string> {
  return createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })[
    Symbol.asyncIterator
  ]();
}

/** The fields of one CSV line as DuckDB writes them (`"` quotes, `""` inside quotes). */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}
