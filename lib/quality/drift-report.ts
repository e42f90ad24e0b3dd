import type { DriftReport, FeatureDrift } from './drift.ts';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * A self-contained HTML page (no scripts, fonts or network) with the drift table and, per
 * feature, a bar chart of baseline vs current shares per bin as inline SVG.
 */
export function driftReportHtml(report: DriftReport): string {
  const range = (r: { start?: string; end?: string; rows: number }) =>
    `${escapeHtml(r.start ?? 'beginning')} … ${escapeHtml(r.end ?? 'now')} (${r.rows.toLocaleString('en-US')} rows)`;
  const rows = report.features
    .map(
      (f) =>
        `<tr class="${f.drifted ? 'drift' : ''}"><td>${escapeHtml(f.feature)}</td><td>${f.kind}</td><td>${f.psi.toFixed(4)}</td><td>${f.drifted ? 'drifted' : 'stable'}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fstore drift: ${escapeHtml(report.view)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2328; }
  table { border-collapse: collapse; margin: 12px 0 24px; }
  td, th { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; }
  tr.drift td { background: #ffebe9; }
  .legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
  figure { margin: 0 0 28px; }
</style>
</head>
<body>
<h1>Drift of ${escapeHtml(report.view)}</h1>
<p>Baseline: ${range(report.baseline)}<br>Current: ${range(report.current)}<br>
Threshold: PSI &gt; ${report.threshold}</p>
<table><thead><tr><th>feature</th><th>kind</th><th>PSI</th><th>result</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p class="legend"><span style="background:#0969da"></span>baseline<span style="background:#fb8500"></span>current</p>
${report.features.map(chart).join('\n')}
</body>
</html>
`;
}

function chart(feature: FeatureDrift): string {
  const totalB = feature.bins.reduce((s, b) => s + b.baseline, 0) || 1;
  const totalC = feature.bins.reduce((s, b) => s + b.current, 0) || 1;
  const shares = feature.bins.map((b) => ({
    label: b.label,
    baseline: b.baseline / totalB,
    current: b.current / totalC,
  }));
  const max = Math.max(0.01, ...shares.flatMap((s) => [s.baseline, s.current]));
  const width = 36;
  const height = 160;
  const bars = shares
    .map((s, i) => {
      const x = 40 + i * (2 * width + 12);
      const hb = (s.baseline / max) * height;
      const hc = (s.current / max) * height;
      return [
        `<rect x="${x}" y="${20 + height - hb}" width="${width}" height="${hb}" fill="#0969da"><title>baseline ${(100 * s.baseline).toFixed(1)}%</title></rect>`,
        `<rect x="${x + width}" y="${20 + height - hc}" width="${width}" height="${hc}" fill="#fb8500"><title>current ${(100 * s.current).toFixed(1)}%</title></rect>`,
        `<text x="${x + width}" y="${height + 36}" font-size="10" text-anchor="middle">${escapeHtml(s.label)}</text>`,
      ].join('');
    })
    .join('\n');
  const svgWidth = 60 + shares.length * (2 * width + 12);
  return `<figure><figcaption><b>${escapeHtml(feature.feature)}</b>: PSI ${feature.psi.toFixed(4)}${feature.drifted ? ' (drifted)' : ''}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" width="${svgWidth}" height="${height + 50}" role="img" aria-label="${escapeHtml(feature.feature)} histogram">
<line x1="36" y1="${20 + height}" x2="${svgWidth - 10}" y2="${20 + height}" stroke="#57606a"/>
<text x="4" y="24" font-size="10">${(100 * max).toFixed(0)}%</text>
${bars}
</svg></figure>`;
}
