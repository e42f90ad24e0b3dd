import { describe, expect, it } from 'vitest';
import {
  compileExpression,
  type ExpressionColumn,
  ExpressionError,
} from '../../../lib/expressions/index.ts';

const columns: ExpressionColumn[] = [
  { name: 'age', type: 'int32' },
  { name: 'visits', type: 'int64' },
  { name: 'score', type: 'float32' },
  { name: 'monthly_charges', type: 'float64' },
  { name: 'plan', type: 'string' },
  { name: 'active', type: 'bool' },
  { name: 'signup_ts', type: 'timestamp' },
  { name: 'embedding', type: 'list<float32>' },
];

const typeOf = (text: string) => compileExpression(text, columns).type;

function errorOf(text: string): ExpressionError {
  try {
    compileExpression(text, columns);
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('expression types', () => {
  it.each([
    ['monthly_charges * 12', 'float64'],
    ['age + 1', 'int64'],
    ['age * age', 'int64'],
    ['age + visits', 'int64'],
    ['score + 1', 'float64'],
    ['age / 2', 'float64'],
    ['visits % 7', 'int64'],
    ['-age', 'int64'],
    ['-score', 'float64'],
    ["lower(plan) = 'premium'", 'bool'],
    ["plan || '!'", 'string'],
    ['age > 3 AND NOT active OR visits IS NULL', 'bool'],
    ["plan IN ('a', 'b')", 'bool'],
    ['age NOT IN (1, 2.5)', 'bool'],
    ["CASE WHEN age > 60 THEN 'senior' WHEN age > 18 THEN 'adult' ELSE 'minor' END", 'string'],
    ['CASE WHEN active THEN age ELSE monthly_charges END', 'float64'],
    ['CASE WHEN active THEN age END', 'int32'],
    ['coalesce(age, visits, 0)', 'int64'],
    ['coalesce(NULL, plan)', 'string'],
    ['length(plan)', 'int64'],
    ['abs(age)', 'int64'],
    ['abs(score)', 'float64'],
    ['round(monthly_charges, 2)', 'float64'],
    ['round(age)', 'float64'],
    ['floor(score) + ceil(score)', 'float64'],
    ['least(age, visits)', 'int64'],
    ['greatest(plan, upper(plan))', 'string'],
    ['year(signup_ts) * 100 + month(signup_ts)', 'int64'],
    ['day_of_week(signup_ts) IN (6, 7)', 'bool'],
    ['signup_ts < signup_ts', 'bool'],
    ['1.5e3', 'float64'],
    ['.5', 'float64'],
    ['TRUE', 'bool'],
    ['NULL', 'null'],
  ])('types %s as %s', (text, type) => {
    expect(typeOf(text)).toBe(type);
  });

  it('binds * before +, comparisons before AND, AND before OR, as SQL does', () => {
    const tree = compileExpression('age + 2 * 3', columns);
    expect(tree).toMatchObject({ operator: '+', right: { operator: '*' } });
    const logic = compileExpression('active OR age > 1 AND visits < 2', columns);
    expect(logic).toMatchObject({ operator: 'OR', right: { operator: 'AND' } });
    const grouped = compileExpression('(age + 2) * 3', columns);
    expect(grouped).toMatchObject({ operator: '*', left: { operator: '+' } });
  });

  it('reads keywords and function names in any case, columns as written', () => {
    expect(typeOf('CASE when active is not null THEN Lower(plan) end')).toBe('string');
  });

  it('keeps the position of each node, 0-based', () => {
    expect(compileExpression('age  + visits', columns)).toMatchObject({
      at: 5,
      left: { at: 0 },
      right: { at: 7 },
    });
  });
});

describe('expression errors', () => {
  it('names an unknown column with its position and the closest column', () => {
    const error = errorOf('montly_charges * 12');
    expect(error.message).toBe(
      'unknown column "montly_charges"; did you mean "monthly_charges"? at column 1 of "montly_charges * 12"',
    );
    expect(error.hint).toContain('monthly_charges');
    expect(error.pointer()).toBe('  montly_charges * 12\n  ^');
  });

  it('names an unknown function and lists the known ones', () => {
    const error = errorOf('age + lowr(plan)');
    expect(error.message).toMatch(/^unknown function "lowr"; did you mean "lower"\? at column 7/);
    expect(error.hint).toContain('coalesce');
  });

  it.each([
    ['plan + 1', 'the left side of + must be a number, but is string', 1],
    ["age = 'x'", 'comparison = mixes int32 and string', 7],
    ['plan < 3', 'comparison < mixes string and int64', 8],
    ['age AND active', 'the left side of AND must be a condition (bool), but is int32', 1],
    ['NOT plan', 'the operand of NOT must be a condition (bool), but is string', 5],
    ['score % 2', 'the left side of % must be an integer, but is float32', 1],
    ['CASE WHEN age THEN 1 END', 'a WHEN must be a condition (bool), but is int32', 11],
    ["CASE WHEN active THEN 1 ELSE 'x' END", 'CASE mixes int64 and string', 30],
    ['lower(age)', "lower's argument must be text, but is int32", 7],
    ['year(plan)', "year's argument must be a timestamp, but is string", 6],
    ['round(score, age)', "round's digits must be a whole number 0 to 15", 14],
    ['round(score, 16)', "round's digits must be a whole number 0 to 15", 14],
    ['least(age)', 'least takes at least 2 arguments, got 1', 1],
    ['lower(plan, plan)', 'lower takes 1 argument, got 2', 1],
    ['greatest(active, active)', 'greatest compares numbers, text or timestamps, not bool', 1],
    [
      'embedding IS NULL',
      'column "embedding" is a list<float32>; lists cannot be used in expressions',
      1,
    ],
    ['signup_ts + 1', 'the left side of + must be a number, but is timestamp', 1],
    ['9223372036854775808', 'integer 9223372036854775808 does not fit in int64', 1],
    ['1e999', 'number 1e999 is out of range', 1],
  ])('refuses %s: %s', (text, problem, column) => {
    const error = errorOf(text);
    expect(error.problem).toBe(problem);
    expect(error.offset + 1).toBe(column);
  });

  it.each([
    ['', 'is empty', 1],
    ['age +', 'ends too early', 6],
    ['(age + 1', 'expected ")", found the end', 9],
    ['age visits', 'unexpected "visits"', 5],
    ['age IS 1', 'expected NULL after IS', 8],
    ['CASE age END', 'CASE needs at least one WHEN', 6],
    ['CASE WHEN active 1 END', 'expected THEN, found number 1', 18],
    ['CASE WHEN active THEN 1', 'expected END, found the end', 24],
    ['age NOT 1', 'expected IN after NOT', 9],
    ['12abc', 'malformed number "12a"', 1],
    ["'open", 'unterminated text literal', 1],
    ['age ! 1', 'unexpected character "!"', 5],
  ])('refuses the syntax of %j: %s', (text, problem, column) => {
    const error = errorOf(text);
    expect(error.problem).toBe(problem);
    expect(error.offset + 1).toBe(column);
  });

  it.each([
    ['1; DROP TABLE x', 'unexpected ";"'],
    ['age -- comment', 'comments are not allowed'],
    ['age /* comment */', 'comments are not allowed'],
    ['"plan" = 1', 'unexpected """'],
    ["plan = 'a\\' OR 1=1 --'", 'backslashes are not allowed in text literals'],
    ["plan = 'a' OR 'x' = 'x'' OR TRUE", 'unterminated text literal'],
    ['plan = `x`', 'unexpected "`"'],
    ['plan = ’x’', 'unexpected character U+2019'],
    ['plan ＝ 1', 'unexpected character U+FF1D'],
    ["plan = 'a\u0000'", 'control characters are not allowed in text literals'],
    ['age UNION SELECT 1', 'unexpected "UNION"'],
    ['(SELECT 1)', 'expected ")", found number 1'],
  ])('refuses the injection attempt %j as a syntax error', (text, problem) => {
    expect(errorOf(text).problem).toBe(problem);
  });

  it('accepts unicode and doubled quotes inside text literals', () => {
    expect(compileExpression("plan IN ('café', 'it''s', '☃')", columns)).toMatchObject({
      list: [{ value: 'café' }, { value: "it's" }, { value: '☃' }],
    });
  });

  it('refuses nesting past 64 levels instead of overflowing the stack', () => {
    expect(errorOf(`${'('.repeat(100)}1${')'.repeat(100)}`).problem).toBe(
      'nests deeper than 64 levels',
    );
    expect(errorOf(`${'- '.repeat(100)}1`).problem).toBe('nests deeper than 64 levels');
  });

  it('refuses an expression longer than 2000 characters', () => {
    expect(errorOf(`age${' + age'.repeat(400)}`).problem).toMatch(
      /characters long; the limit is 2000/,
    );
  });
});
