import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A V8 block-coverage range, offsets into the code the process ran (tsx's output). */
interface V8Range {
  startOffset: number;
  endOffset: number;
  count: number;
}

interface V8ScriptCoverage {
  url: string;
  functions: { ranges: V8Range[] }[];
}

/** What Node records, beside the ranges, for a module whose code carried a source map. */
interface SourceMapCacheEntry {
  lineLengths: number[];
  data: SourceMapData | null;
}

export interface SourceMapData {
  version: number;
  sources: string[];
  mappings: string;
  names: string[];
  sourcesContent?: (string | null)[];
  sourceRoot?: string;
}

interface RawCoverageFile {
  result: V8ScriptCoverage[];
  'source-map-cache'?: Record<string, SourceMapCacheEntry>;
}

/**
 * One compiled form of one source file, with the execution counts of every process that ran
 * that form added up, per character of the compiled code.
 */
export interface CompiledScriptCounts {
  sourceFile: string;
  sourceMap: SourceMapData;
  lineLengths: number[];
  counts: Float64Array;
  processes: number;
}

export interface ChildCoverage {
  /** By absolute source path: usually one compiled form, more if the transform changed. */
  scripts: Map<string, CompiledScriptCounts[]>;
  rawFiles: number;
  /** Scripts under the root that had no source map: their offsets cannot be placed. */
  scriptsWithoutSourceMap: number;
  /** Files that were not valid JSON, left out (only with `skipUnreadable`: a report taken
   * while a shard runs can find a process's file half written). */
  unreadableFiles: string[];
}

/**
 * Reads the raw V8 coverage that processes started with NODE_V8_COVERAGE=`rawDir` wrote on exit
 * (one folder, or several whose counts add up: the shards of a run), keeping the TypeScript
 * files under `sourceRoot` (loaded through tsx, which gives each an inline source map that Node
 * keeps in the file's 'source-map-cache').
 */
export async function readChildCoverage(
  rawDirs: string | readonly string[],
  sourceRoot: string,
  options: { skipUnreadable?: boolean } = {},
): Promise<ChildCoverage> {
  const unreadableFiles: string[] = [];
  const scripts = new Map<string, CompiledScriptCounts[]>();
  const files: string[] = [];
  for (const rawDir of typeof rawDirs === 'string' ? [rawDirs] : rawDirs) {
    const names = (await readdir(rawDir)).filter((name) => name.endsWith('.json'));
    files.push(...names.map((name) => path.join(rawDir, name)));
  }
  let scriptsWithoutSourceMap = 0;
  for (const file of files) {
    let raw: RawCoverageFile;
    try {
      raw = JSON.parse(await readFile(file, 'utf8')) as RawCoverageFile;
    } catch (error) {
      if (options.skipUnreadable) {
        unreadableFiles.push(file);
        continue;
      }
      throw new Error(
        `raw V8 coverage file ${file} is not valid JSON (a process cut off while writing it?)`,
        {
          cause: error,
        },
      );
    }
    const sourceMaps = raw['source-map-cache'] ?? {};
    for (const script of raw.result) {
      const sourceFile = sourcePathOf(script.url, sourceRoot);
      if (!sourceFile) continue;
      const cached = sourceMaps[script.url];
      if (!cached?.data) {
        scriptsWithoutSourceMap += 1;
        continue;
      }
      addProcessCounts(scripts, sourceFile, script, cached.lineLengths, cached.data);
    }
  }
  return { scripts, rawFiles: files.length, scriptsWithoutSourceMap, unreadableFiles };
}

function sourcePathOf(url: string, sourceRoot: string): string | undefined {
  if (!url.startsWith('file://')) return undefined;
  const file = fileURLToPath(url);
  if (!file.endsWith('.ts') || file.includes(`${path.sep}node_modules${path.sep}`))
    return undefined;
  const relative = path.relative(sourceRoot, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? undefined : file;
}

function addProcessCounts(
  scripts: Map<string, CompiledScriptCounts[]>,
  sourceFile: string,
  script: V8ScriptCoverage,
  lineLengths: number[],
  sourceMap: SourceMapData,
): void {
  const forms = scripts.get(sourceFile) ?? [];
  scripts.set(sourceFile, forms);
  let form = forms.find((known) => sameCompiledForm(known, lineLengths, sourceMap));
  if (!form) {
    const codeLength = lineLengths.reduce((sum, length) => sum + length + 1, 0);
    form = {
      sourceFile,
      sourceMap,
      lineLengths,
      counts: new Float64Array(codeLength),
      processes: 0,
    };
    forms.push(form);
  }
  const perCharacter = innermostRangeCounts(script, form.counts.length);
  for (let offset = 0; offset < perCharacter.length; offset += 1) {
    form.counts[offset] = (form.counts[offset] ?? 0) + (perCharacter[offset] ?? 0);
  }
  form.processes += 1;
}

function sameCompiledForm(
  known: CompiledScriptCounts,
  lineLengths: number[],
  sourceMap: SourceMapData,
): boolean {
  return (
    known.sourceMap.mappings === sourceMap.mappings &&
    known.lineLengths.length === lineLengths.length &&
    known.lineLengths.every((length, index) => length === lineLengths[index])
  );
}

/**
 * V8 reports nested ranges (a function, then the blocks inside it); the count of a character is
 * the count of the innermost range around it. Ranges are properly nested, so filling the outer
 * ones first and the inner ones over them gives that count everywhere.
 */
export function innermostRangeCounts(script: V8ScriptCoverage, codeLength: number): Uint32Array {
  const ranges = script.functions.flatMap((fn) => fn.ranges);
  ranges.sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  const counts = new Uint32Array(codeLength);
  for (const range of ranges) {
    counts.fill(range.count, range.startOffset, Math.min(range.endOffset, codeLength));
  }
  return counts;
}
