import { describe, expect, it } from 'vitest';
import { mergeIncrementalReports } from '../../../scripts/mutation-merge-incremental.ts';

const at = (line: number) => ({ start: { line, column: 1 }, end: { line, column: 9 } });

function report(
  file: string,
  testFile: string,
  testNames: string[],
  killer: number,
  source = `source of ${file}`,
) {
  return {
    schemaVersion: '1.0',
    files: {
      [file]: {
        source,
        mutants: [
          {
            id: '0',
            mutatorName: 'BooleanLiteral',
            status: 'Killed',
            location: at(3),
            coveredBy: testNames.map((_, i) => String(i)),
            killedBy: [String(killer)],
          },
          { id: '1', mutatorName: 'StringLiteral', status: 'NoCoverage', location: at(4) },
        ],
      },
    },
    testFiles: {
      [testFile]: {
        source: `tests of ${file}`,
        tests: testNames.map((name, i) => ({ id: String(i), name, location: at(10 + i) })),
      },
    },
  };
}

describe('merging the incremental files of side-by-side Stryker runs', () => {
  it('keeps each run’s killer pointing at its own test although both numbered tests from 0', () => {
    const sql = report('lib/sql/a.ts', 'test/unit/sql/a.test.ts', ['sql one', 'sql two'], 1);
    const mat = report('lib/materialize/b.ts', 'test/unit/materialize/b.test.ts', ['mat'], 0);
    const merged = mergeIncrementalReports([sql, mat]);
    const testName = (id: string) =>
      Object.values(merged.testFiles ?? {})
        .flatMap((f) => f.tests)
        .find((t) => t.id === id)?.name;
    const killerOf = (file: string) =>
      merged.files[file]?.mutants[0]?.killedBy?.map((id) => testName(id));
    expect(killerOf('lib/sql/a.ts')).toEqual(['sql two']);
    expect(killerOf('lib/materialize/b.ts')).toEqual(['mat']);
    const mutantIds = Object.values(merged.files).flatMap((f) => f.mutants.map((m) => m.id));
    expect(new Set(mutantIds).size).toBe(4);
  });

  it('takes a later run’s results for a file both mutated, and one id for a test both ran', () => {
    const before = report('lib/sql/a.ts', 'test/unit/sql/a.test.ts', ['one', 'two'], 0);
    const after = report('lib/sql/a.ts', 'test/unit/sql/a.test.ts', ['one', 'three'], 1, 'edited');
    const merged = mergeIncrementalReports([before, after]);
    expect(merged.files['lib/sql/a.ts']?.source).toBe('edited');
    const tests = merged.testFiles?.['test/unit/sql/a.test.ts']?.tests ?? [];
    expect(tests.map((t) => t.name)).toEqual(['one', 'two', 'three']);
    const killer = merged.files['lib/sql/a.ts']?.mutants[0]?.killedBy?.[0];
    expect(tests.find((t) => t.id === killer)?.name).toBe('three');
  });

  it('refuses a mutant that names a test its report does not have, naming the file', () => {
    const broken = report('lib/sql/a.ts', 'test/unit/sql/a.test.ts', ['one'], 5);
    expect(() => mergeIncrementalReports([broken])).toThrow(/lib\/sql\/a\.ts names test id 5/);
  });
});
