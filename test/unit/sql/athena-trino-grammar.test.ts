import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import { renderTrainingSetSql } from '../../../lib/sql/render-training-set.ts';
import { athenaStatements } from '../../helpers/athena-statements.ts';
import { buildRandomRegistry, registryShape } from '../../helpers/random-registry.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';
import {
  assertTrinoGrammar,
  asTrinoGrammarStatement,
  TrinoGrammarError,
  trinoSyntaxProblems,
} from '../../helpers/trino-grammar.ts';

const examples = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));

/** The step that sends a statement: its name up to the view or service it concerns. */
const family = (name: string) => name.replace(/ (of|#).*$/, '');

// The first parse builds the parser's prediction cache and takes seconds on this machine.
const firstParse = 120_000;

describe('every Athena statement fstore generates parses with the Trino grammar', () => {
  it(
    'holds for the example definitions: prepared statements, UNLOADs, materialization, tile bases, verify-online, stats, drift and validate-data',
    async () => {
      const statements = await athenaStatements(examples);
      expect(new Set(statements.map((s) => family(s.name)))).toEqual(
        new Set([
          'prepared statement',
          'training-set UNLOAD',
          'materialization',
          'tile base',
          'verify-online',
          'stats',
          'drift',
          'validate-data',
        ]),
      );
      // 2 services x 2, 4 views x (10 materialization + 1 verify-online), 3 passthrough views'
      // quality queries (their number depends on the features and rules).
      expect(statements.length).toBeGreaterThan(2 * 2 + 4 * 11 + 3 * 3);
      for (const statement of statements) assertTrinoGrammar(statement);
    },
    firstParse,
  );

  it(
    'holds for 30 random definitions (seeded): key types, value and list types, constraints, TTLs, aggregations, aliases',
    async () => {
      let checked = 0;
      await fc.assert(
        fc.asyncProperty(registryShape, async (shape) => {
          const registry = buildRandomRegistry(shape);
          fc.pre(registry !== undefined);
          if (!registry) return;
          for (const statement of await athenaStatements(registry)) {
            assertTrinoGrammar(statement);
            checked += 1;
          }
        }),
        { seed: 15_06, numRuns: 30 },
      );
      expect(checked).toBeGreaterThan(30 * 8);
    },
    firstParse * 2,
  );
});

describe('the Trino grammar check', () => {
  it('rejects the DuckDB rendering of the same training set (ASOF JOIN, IGNORE NULLS inside the call)', () => {
    const plan = planPointInTime(
      examples,
      { service: 'churn_v1' },
      { entityTimestampColumn: 'event_timestamp' },
    );
    const options = {
      entityRelation: 'fstore_entities',
      entityColumns: ['customer_id', 'event_timestamp'],
    };
    for (const strategy of ['asof', 'merge-window'] as const) {
      const sql = renderTrainingSetSql(plan, duckdbDialect('/data/offline'), {
        ...options,
        strategy,
      });
      expect(trinoSyntaxProblems(sql), strategy).not.toEqual([]);
    }
  });

  it.each([
    ['a :: cast', 'SELECT "x"::INTEGER FROM t'],
    ['QUALIFY', 'SELECT x FROM t QUALIFY row_number() OVER (PARTITION BY y) = 1'],
    ['IGNORE NULLS inside the call', 'SELECT last_value(x IGNORE NULLS) OVER (ORDER BY y) FROM t'],
    ['struct_pack with :=', 'SELECT struct_pack(a := 1) FROM t'],
    ['SELECT * EXCLUDE', 'SELECT * EXCLUDE (a) FROM t'],
    ['a table function on a file glob', "SELECT * FROM read_parquet('/data/a/*/*.parquet')"],
    [
      'ASOF JOIN between aliased relations',
      'SELECT * FROM e AS e ASOF LEFT JOIN f AS f ON e.t >= f.t',
    ],
    ['a list literal', 'SELECT [1, 2] AS xs'],
    ['integer division //', 'SELECT 7 // 2'],
  ])('rejects DuckDB-only syntax: %s', (_, sql) => {
    expect(trinoSyntaxProblems(sql)).not.toEqual([]);
  });

  it('accepts `e ASOF JOIN f` without an alias, as Trino does: ASOF is not reserved, so it is the alias of e', () => {
    // A grammar check cannot reject this spelling; fstore's DuckDB rendering aliases every
    // relation it ASOF-joins (see the test above), and the Athena dialect refuses to render ASOF.
    expect(trinoSyntaxProblems('SELECT * FROM e ASOF JOIN f ON e.t >= f.t')).toEqual([]);
  });

  it('checks an UNLOAD as the CTAS with the same query and properties, and rejects a broken one', () => {
    const unload =
      "UNLOAD (SELECT 1 AS x) TO 's3://b/training-sets/s/r1/' WITH (format = 'PARQUET', compression = 'SNAPPY')";
    expect(asTrinoGrammarStatement(unload)).toBe(
      "CREATE TABLE fstore_unload WITH (external_location = 's3://b/training-sets/s/r1/', format = 'PARQUET', compression = 'SNAPPY') AS SELECT 1 AS x",
    );
    expect(trinoSyntaxProblems(unload)).toEqual([]);
    expect(trinoSyntaxProblems(unload.replace('SELECT 1', 'SELECT 1::INTEGER'))).not.toEqual([]);
    expect(trinoSyntaxProblems(unload.replace("format = 'PARQUET'", 'format PARQUET'))).not.toEqual(
      [],
    );
  });

  it('names the statement, the parser message and the text at the problem when it fails', () => {
    const sql =
      'SELECT "customer_id",\n  "age"::INTEGER AS age\nFROM "fstore_dev"."customer_profiles"';
    expect(() => assertTrinoGrammar({ name: 'stats of view customer_profile #1', sql })).toThrow(
      TrinoGrammarError,
    );
    try {
      assertTrinoGrammar({ name: 'stats of view customer_profile #1', sql });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(
        /^stats of view customer_profile #1: not Trino SQL \(\d+ problems?\)/,
      );
      expect(message).toContain('line 2, column 8:');
      expect(message).toContain("':' is not valid at this position");
      expect(message).toContain('near: "age"⟨here⟩::INTEGER AS age');
    }
  });
});
