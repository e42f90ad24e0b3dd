import path from 'node:path';
import libCoverage, { type CoverageMap, type CoverageSummary } from 'istanbul-lib-coverage';

const metrics = ['statements', 'branches', 'functions', 'lines'] as const;

/** Coverage summed per top-level directory of `root` (files directly in it form one group). */
export function summariseByDirectory(map: CoverageMap, root: string): Map<string, CoverageSummary> {
  const groups = new Map<string, CoverageSummary>();
  for (const file of map.files().sort()) {
    const relative = path.relative(root, file);
    const [first, ...rest] = relative.split(path.sep);
    const group =
      rest.length === 0 ? `${path.basename(root)}/*.ts` : `${path.basename(root)}/${first}`;
    const summary = groups.get(group) ?? libCoverage.createCoverageSummary();
    summary.merge(map.fileCoverageFor(file).toSummary());
    groups.set(group, summary);
  }
  return groups;
}

/** A fixed-width table: one row per name, the percentage and covered/total of each metric. */
export function formatSummaryTable(rows: Map<string, CoverageSummary>): string {
  const nameWidth = Math.max(9, ...[...rows.keys()].map((name) => name.length));
  const cell = (summary: CoverageSummary, metric: (typeof metrics)[number]) => {
    const { covered, total, pct } = summary[metric];
    return `${(total === 0 ? 100 : pct).toFixed(1).padStart(5)} % ${`${covered}/${total}`.padStart(11)}`;
  };
  const header = ['directory'.padEnd(nameWidth), ...metrics.map((m) => m.padEnd(19))].join(' | ');
  const lines = [...rows].map(([name, summary]) =>
    [name.padEnd(nameWidth), ...metrics.map((metric) => cell(summary, metric))].join(' | '),
  );
  return [header, '-'.repeat(header.length), ...lines].join('\n');
}
