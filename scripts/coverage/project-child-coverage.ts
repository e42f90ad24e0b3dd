import { fileURLToPath } from 'node:url';
import {
  GREATEST_LOWER_BOUND,
  generatedPositionFor,
  LEAST_UPPER_BOUND,
  TraceMap,
} from '@jridgewell/trace-mapping';
import type { FileCoverageData, Location, Range } from 'istanbul-lib-coverage';
import ts from 'typescript';
import type { CompiledScriptCounts } from './read-child-coverage.ts';

export interface ProjectionResult {
  /** Compiled forms whose embedded source differs from the file now on disk: not counted. */
  staleForms: number;
}

/**
 * Adds the execution counts that child processes recorded for one file to that file's
 * statement, function and branch counts from the in-process run. The maps (what counts as a
 * statement, a function, a branch) stay those of vitest's AST-aware conversion; each entry is
 * looked up at its own position in the code the child ran, through tsx's source map, the way
 * ast-v8-to-istanbul looks entries up in the code the test worker ran.
 */
export function addChildCounts(
  coverage: FileCoverageData,
  sourceText: string,
  forms: readonly CompiledScriptCounts[],
): ProjectionResult {
  let staleForms = 0;
  const ifStatements = parseIfStatements(coverage.path, sourceText);
  for (const form of forms) {
    const locate = offsetLocator(form, sourceText);
    if (!locate) {
      staleForms += 1;
      continue;
    }
    const countAt = (location: Location): number => {
      const offset = locate(location);
      return offset === undefined ? 0 : (form.counts[offset] ?? 0);
    };
    for (const [id, range] of Object.entries(coverage.statementMap)) {
      coverage.s[id] = (coverage.s[id] ?? 0) + countAt(range.start);
    }
    for (const [id, fn] of Object.entries(coverage.fnMap)) {
      coverage.f[id] = (coverage.f[id] ?? 0) + countAt(fn.loc.start);
    }
    for (const [id, branch] of Object.entries(coverage.branchMap)) {
      const armCounts =
        branch.type === 'if'
          ? ifArmCounts(branch.loc, ifStatements, countAt)
          : branch.locations.map((arm) => (hasPosition(arm) ? countAt(arm.start) : 0));
      const previous = coverage.b[id] ?? [];
      coverage.b[id] = armCounts.map((count, arm) => (previous[arm] ?? 0) + count);
    }
  }
  return { staleForms };
}

type CountAt = (location: Location) => number;

/**
 * ast-v8-to-istanbul records an `if` as [the whole statement, the else branch or an implicit
 * else with no position]: the then-branch is found again in the source, and an implicit else
 * counts the times the statement ran without entering the then-branch.
 */
function ifArmCounts(statement: Range, ifStatements: IfStatements, countAt: CountAt): number[] {
  const found = ifStatements.byStart.get(positionKey(statement.start));
  if (!found) return [0, 0];
  const { sourceFile } = ifStatements;
  const armStart = (node: ts.Statement) => {
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
    return { line: line + 1, column: character };
  };
  const thenCount = countAt(armStart(found.thenStatement));
  const elseCount = found.elseStatement
    ? countAt(armStart(found.elseStatement))
    : Math.max(0, countAt(statement.start) - thenCount);
  return [thenCount, elseCount];
}

interface IfStatements {
  sourceFile: ts.SourceFile;
  byStart: Map<string, ts.IfStatement>;
}

function parseIfStatements(file: string, sourceText: string): IfStatements {
  const sourceFile = ts.createSourceFile(file, sourceText, ts.ScriptTarget.Latest, true);
  const byStart = new Map<string, ts.IfStatement>();
  const visit = (node: ts.Node): void => {
    if (ts.isIfStatement(node)) {
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(
        node.getStart(sourceFile),
      );
      byStart.set(positionKey({ line: line + 1, column: character }), node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return { sourceFile, byStart };
}

function positionKey(location: Location): string {
  return `${location.line}:${location.column}`;
}

function hasPosition(range: Range): boolean {
  return typeof range.start?.line === 'number' && typeof range.start?.column === 'number';
}

/**
 * Turns a position in the TypeScript source into an offset in the code the child ran, or
 * undefined where the source map has no code for it.
 */
function offsetLocator(
  form: CompiledScriptCounts,
  sourceText: string,
): ((location: Location) => number | undefined) | undefined {
  const sourceIndex = form.sourceMap.sources.findIndex(
    (source) => (source.startsWith('file://') ? fileURLToPath(source) : source) === form.sourceFile,
  );
  const index = sourceIndex === -1 && form.sourceMap.sources.length === 1 ? 0 : sourceIndex;
  const embedded = form.sourceMap.sourcesContent?.[index];
  if (index === -1 || (embedded != null && embedded !== sourceText)) return undefined;
  const traceMap = new TraceMap(form.sourceMap as ConstructorParameters<typeof TraceMap>[0]);
  const source = traceMap.resolvedSources[index] ?? form.sourceMap.sources[index] ?? '';
  const lineStarts: number[] = [];
  let start = 0;
  for (const length of form.lineLengths) {
    lineStarts.push(start);
    start += length + 1;
  }
  return (location) => {
    const query = { source, line: location.line, column: location.column };
    let generated = generatedPositionFor(traceMap, { ...query, bias: GREATEST_LOWER_BOUND });
    if (generated.line === null) {
      generated = generatedPositionFor(traceMap, { ...query, bias: LEAST_UPPER_BOUND });
    }
    if (generated.line === null || generated.column === null) return undefined;
    const lineStart = lineStarts[generated.line - 1];
    if (lineStart === undefined) return undefined;
    return lineStart + generated.column;
  };
}
