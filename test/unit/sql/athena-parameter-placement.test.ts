import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import {
  assertParametersOnlyInWhere,
  parametersOutsideWhere,
} from '../../helpers/athena-parameters.ts';
import { athenaStatements } from '../../helpers/athena-statements.ts';
import { buildRandomRegistry, registryShape } from '../../helpers/random-registry.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const examples = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));

// The first parse builds the parser's prediction cache and takes seconds on this machine.
const firstParse = 120_000;

describe('every "?" of the Athena statements fstore generates sits in a WHERE clause', () => {
  it(
    'holds for the example definitions, whose prepared statements have parameters',
    async () => {
      const statements = await athenaStatements(examples);
      const withParameters = statements.filter((s) => s.sql.includes('?'));
      expect(withParameters.map((s) => s.name)).toEqual(
        examples.featureServices.map((s) => `prepared statement of service ${s.name}`),
      );
      for (const statement of statements) assertParametersOnlyInWhere(statement);
    },
    firstParse,
  );

  it(
    'holds for 15 random definitions (seeded): TTLs, no TTL, aggregations, several views per source',
    async () => {
      let checked = 0;
      await fc.assert(
        fc.asyncProperty(registryShape, async (shape) => {
          const registry = buildRandomRegistry(shape);
          fc.pre(registry !== undefined);
          if (!registry) return;
          for (const statement of await athenaStatements(registry)) {
            if (!statement.sql.includes('?')) continue;
            assertParametersOnlyInWhere(statement);
            checked += 1;
          }
        }),
        { seed: 15_05, numRuns: 15 },
      );
      expect(checked).toBeGreaterThanOrEqual(15);
    },
    firstParse * 2,
  );
});

describe('the parameter placement check', () => {
  it('refuses the statement of commit 1668d9f: its range was a VALUES row of two "?"', async () => {
    const before = await readFile(
      path.join(import.meta.dirname, 'fixtures/service-statement-before-where-only.athena.sql'),
      'utf8',
    );
    expect(parametersOutsideWhere(before)).toEqual([
      { line: 7, column: 31, clause: 'VALUES' },
      { line: 7, column: 56, clause: 'VALUES' },
    ]);
    expect(() => assertParametersOnlyInWhere({ name: 'the old statement', sql: before })).toThrow(
      'the old statement: 2 "?" outside a WHERE clause (Athena accepts parameters only there)\n  line 7, column 31: in a VALUES',
    );
  });

  it('names the clause of a "?" in a select item, a join condition, ORDER BY, and a subquery of a WHERE', () => {
    expect(parametersOutsideWhere('SELECT ? FROM t')).toEqual([
      { line: 1, column: 8, clause: 'select item' },
    ]);
    expect(parametersOutsideWhere('SELECT a FROM t JOIN u ON t.a = ? WHERE b = ?')).toEqual([
      { line: 1, column: 33, clause: 'join condition' },
    ]);
    expect(parametersOutsideWhere('SELECT a FROM t ORDER BY ?')).toEqual([
      { line: 1, column: 26, clause: 'ORDER BY' },
    ]);
    expect(parametersOutsideWhere('SELECT a FROM t WHERE a IN (SELECT ? FROM u)')).toEqual([
      { line: 1, column: 36, clause: 'select item' },
    ]);
  });

  it('accepts a "?" anywhere inside a WHERE condition, in a CTE or a FROM subquery', () => {
    expect(
      parametersOutsideWhere(
        `WITH c AS (SELECT a FROM t WHERE a = ? AND CASE WHEN b BETWEEN CAST(? AS TIMESTAMP) AND CAST(? AS TIMESTAMP) THEN TRUE ELSE CAST('x' AS BOOLEAN) END)
SELECT * FROM (SELECT * FROM c WHERE dt >= CAST(CAST((CAST(? AS TIMESTAMP(6)) - INTERVAL '86400' SECOND) AS DATE) AS VARCHAR)) s`,
      ),
    ).toEqual([]);
  });
});
