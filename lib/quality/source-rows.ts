import { HintedError } from '../hinted-error.ts';
import { instantArg } from '../instant-arg.ts';
import type { Registry, RegistryFeatureView } from '../registry/index.ts';
import type { Dialect } from '../sql/dialect.ts';

export class QualityInputError extends HintedError {}

export interface TimeRange {
  readonly start?: string;
  readonly end?: string;
}

/** A passthrough view and the SQL relation of its source rows with event time in `range`. */
export function viewRows(
  registry: Registry,
  viewName: string,
  dialect: Dialect,
  range: TimeRange,
): { view: RegistryFeatureView; relation: string } {
  const view = registry.featureViews.find((v) => v.name === viewName);
  if (!view)
    throw new QualityInputError(
      `no feature view "${viewName}"`,
      `views: ${registry.featureViews.map((v) => v.name).join(', ')}`,
    );
  if (view.transform !== 'passthrough')
    throw new QualityInputError(
      `${view.name} is an aggregation view; statistics and rules apply to passthrough views`,
      'use a passthrough view of the same source',
    );
  const source = registry.sources.find((s) => s.name === view.source);
  if (!source) throw new QualityInputError(`source ${view.source} is missing`, 'recompile');
  const ts = dialect.quote(source.timestampField);
  const where = [
    ...(range.start
      ? [`${ts} >= ${dialect.timestampLiteral(instantArg(range.start, '--start'))}`]
      : []),
    ...(range.end ? [`${ts} <= ${dialect.timestampLiteral(instantArg(range.end, '--end'))}`] : []),
  ];
  return {
    view,
    relation: `(SELECT * FROM ${dialect.sourceRelation(view.source)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''})`,
  };
}

/** `2026-03-01..2026-03-31`, `2026-03-01..` or `..2026-03-31` as a range. */
export function parseRange(text: string, flag: string): TimeRange {
  const [start, end, extra] = text.split('..');
  if (extra !== undefined || start === undefined || end === undefined)
    throw new QualityInputError(
      `${flag} "${text}" is not a range`,
      'write start..end, e.g. 2026-01-01..2026-01-31 (either side may be empty)',
    );
  if (start) instantArg(start, flag);
  if (end) instantArg(end, flag);
  return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
}
