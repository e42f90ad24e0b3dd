import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/run-fstore.ts';

/**
 * DESIGN.md §7: SQL text (identifiers, literals, timestamps, types) is rendered only through
 * lib/sql's Dialect and the helpers the dialects themselves use, and neither lib/offline (which
 * runs on AWS too) nor lib/sql imports the local adapters. This reads the source tree, so a second
 * quoting function, a lib/offline or lib/sql import of lib/local, or a `Date` in lib/sql fails.
 */

const sourceRoots = ['lib', 'bin', 'bench'];

function sourceFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
      const relative = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(relative);
      } else if (/\.(?:[cm]?ts|[cm]?js)$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
        found.push(relative);
    }
  };
  walk(root);
  return found;
}

type Sources = ReadonlyMap<string, string>;

/** Source text without comments, line numbers kept (a doc comment may mention what code may not do). */
function code(text: string): string[] {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, ''))
    .split('\n')
    .map((line) => (/^\s*\/\//.test(line) ? '' : line));
}

/** `file:line: text` of every code line of the files `which` picks matching one of `patterns`. */
function offending(
  sources: Sources,
  which: (file: string) => boolean,
  patterns: readonly RegExp[],
): string[] {
  return [...sources].flatMap(([file, text]) =>
    !which(file)
      ? []
      : code(text).flatMap((line, index) =>
          patterns.some((p) => p.test(line)) ? [`${file}:${index + 1}: ${line.trim()}`] : [],
        ),
  );
}

/** Escaping a quote character by doubling it: what quoting an identifier or literal comes down to. */
const quoteDoubling = [
  /\.replaceAll\(\s*(['"`])"\1\s*,\s*(['"`])""\2\s*\)/, // replaceAll('"', '""')
  /\.replaceAll\(\s*(['"`])'\1\s*,\s*(['"`])''\2\s*\)/, // replaceAll("'", "''")
  /\.replaceAll\(\s*(['"`])\\(['"])\1\s*,\s*(['"`])\\\2\\\2\3\s*\)/, // replaceAll('\'', '\'\'')
  /\.replace(?:All)?\(\s*\/\\?'\/g\s*,\s*(['"`])(?:\\?'){2}\1\s*\)/, // replace(/'/g, "''")
  /\.replace(?:All)?\(\s*\/\\?"\/g\s*,\s*(['"`])(?:\\?"){2}\1\s*\)/, // replace(/"/g, '""')
  /\.split\(\s*(['"`])\\?(["'])\1\s*\)\s*\.join\(\s*(['"`])(?:\\?\2){2}\3\s*\)/, // split("'").join("''")
];

/** Relative import specifiers of a file's code (static, re-export and dynamic). */
function importsOf(file: string, text: string): string[] {
  const specifiers = [
    ...code(text)
      .join('\n')
      .matchAll(/\b(?:from|import)\s*\(?\s*(['"])(\.{1,2}\/[^'"]+)\1/g),
  ].map((m) => m[2] as string);
  return specifiers.map((s) => path.posix.join(path.posix.dirname(file), s));
}

function quotingOutsideLibSql(sources: Sources): string[] {
  return offending(sources, (f) => !f.startsWith('lib/sql/'), quoteDoubling);
}

/** lib/offline runs on AWS too, and lib/sql renders for both engines: neither uses a local adapter. */
function importsOfLocal(sources: Sources): string[] {
  return [...sources]
    .filter(([file]) => file.startsWith('lib/offline/') || file.startsWith('lib/sql/'))
    .flatMap(([file, text]) =>
      importsOf(file, text)
        .filter((target) => target === 'lib/local' || target.startsWith('lib/local/'))
        .map((target) => `${file} imports ${target}`),
    );
}

function datesInLibSql(sources: Sources): string[] {
  return offending(sources, (f) => f.startsWith('lib/sql/'), [/\bnew\s+Date\s*\(/]);
}

const sources: Sources = new Map(
  sourceRoots
    .flatMap(sourceFiles)
    .map((file) => [file, readFileSync(path.join(repoRoot, file), 'utf8')]),
);

describe('one home for SQL text (DESIGN.md §7)', () => {
  it('reads the source tree', () => {
    expect(sources.has('lib/sql/dialect.ts')).toBe(true);
    expect([...sources.keys()].filter((f) => f.startsWith('lib/offline/')).length).toBeGreaterThan(
      5,
    );
  });

  it('quotes identifiers and literals only in lib/sql (quoteIdentifier, quoteLiteral, the dialects)', () => {
    expect(quotingOutsideLibSql(sources)).toEqual([]);
    // The one implementation is found where it belongs, so the patterns still match real code.
    expect(offending(sources, (f) => f === 'lib/sql/dialect.ts', quoteDoubling)).toHaveLength(2);
  });

  it('keeps lib/offline (which runs on AWS too) and lib/sql free of imports from lib/local', () => {
    expect(importsOfLocal(sources)).toEqual([]);
  });

  it('builds no Date in lib/sql: timestamps travel as epoch microseconds or ISO text', () => {
    expect(datesInLibSql(sources)).toEqual([]);
  });

  it('flags each kind of violation, in code but not in comments', () => {
    const planted: Sources = new Map([
      ['lib/demo/a.ts', `const q = (s: string) => \`"\${s.replaceAll('"', '""')}"\`;`],
      ['lib/quality/b.ts', `const l = (s: string) => \`'\${s.replace(/'/g, "''")}'\`;`],
      ['bin/c.ts', `const l = (s: string) => "'" + s.replaceAll("'", "''") + "'";`],
      ['lib/offline/d.ts', `import { x } from '../local/next-run.ts';`],
      ['lib/offline/e/f.ts', `const m = await import('../../local/process-x.ts');`],
      ['lib/sql/k.ts', `import { duckdbType } from '../local/duckdb-types.ts';`],
      ['lib/sql/g.ts', `const t = new Date(0).toISOString();`],
      ['lib/sql/h.ts', `// new Date( would be wrong here\n/* s.replaceAll("'", "''") */`],
      ['lib/api/j.ts', `const x = s.split('"').join('""') + t.replace(/"/g, '&quot;');`],
      ['lib/offline/i.ts', `import { y } from '../sql/dialect.ts'; // not '../local/'`],
    ]);
    expect(quotingOutsideLibSql(planted)).toEqual([
      `lib/demo/a.ts:1: const q = (s: string) => \`"\${s.replaceAll('"', '""')}"\`;`,
      `lib/quality/b.ts:1: const l = (s: string) => \`'\${s.replace(/'/g, "''")}'\`;`,
      `bin/c.ts:1: const l = (s: string) => "'" + s.replaceAll("'", "''") + "'";`,
      `lib/api/j.ts:1: const x = s.split('"').join('""') + t.replace(/"/g, '&quot;');`,
    ]);
    expect(importsOfLocal(planted)).toEqual([
      'lib/offline/d.ts imports lib/local/next-run.ts',
      'lib/offline/e/f.ts imports lib/local/process-x.ts',
      'lib/sql/k.ts imports lib/local/duckdb-types.ts',
    ]);
    expect(datesInLibSql(planted)).toEqual([
      'lib/sql/g.ts:1: const t = new Date(0).toISOString();',
    ]);
  });
});
