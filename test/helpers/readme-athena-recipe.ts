import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './run-fstore.ts';

/** The README's "Training sets with only Athena" section, up to the next `## ` heading. */
export function athenaRecipeSection(): string {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('### Training sets with only Athena');
  if (start < 0) throw new Error('README.md has no "### Training sets with only Athena" section');
  const end = readme.indexOf('\n## ', start);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The code blocks of `text` in `language`, in order. */
export function codeBlocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map(
    (m) => m[1] ?? '',
  );
}

/** Every stack output name the section refers to: `outputs["..."]` and backticked names in its table. */
export function recipeOutputNames(section: string): string[] {
  const fromCode = [...section.matchAll(/outputs\["([A-Za-z0-9]+)"\]/g)].map((m) => m[1] ?? '');
  const firstCells = [...section.matchAll(/^\| (`[^|]*) \|/gm)].map((m) => m[1] ?? '');
  const fromTable = firstCells.flatMap((cell) =>
    [...cell.matchAll(/`([A-Za-z0-9]+)`/g)].map((m) => m[1] ?? ''),
  );
  const fromExamples = [...section.matchAll(/e\.g\. `(Service[A-Za-z0-9]+)`/g)].map(
    (m) => m[1] ?? '',
  );
  return [...new Set([...fromCode, ...fromTable, ...fromExamples])].sort();
}
