import type { ScalarType } from '../definitions/value-types.ts';
import { compileExpression, ExpressionError } from '../expressions/index.ts';
import { HintedError } from '../hinted-error.ts';
import { instantArg } from '../instant-arg.ts';
import type { Registry, RegistryFeatureView, RegistrySource } from '../registry/index.ts';
import type { Dialect } from '../sql/dialect.ts';
import { renderExpressionAs } from '../sql/render-expression.ts';
import { viewSourceRelation } from '../sql/view-source.ts';

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
  const inRange = `(SELECT * FROM ${dialect.sourceRelation(view.source)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''})`;
  return {
    view,
    relation: viewFeatureRows(view, source, { ...dialect, sourceRelation: () => inRange }, [
      ...view.joinKeys.map((k) => k.name),
      source.timestampField,
    ]),
  };
}

/**
 * The rows of a passthrough view as reads see them, over `dialect.sourceRelation(view.source)`:
 * only those the source's row filter keeps, each feature under its name (a derived feature is
 * its expression's value, a plain one its column), beside the source columns `alongside`.
 */
export function viewFeatureRows(
  view: RegistryFeatureView,
  source: RegistrySource,
  dialect: Dialect,
  alongside: readonly string[],
): string {
  const compile = (text: string, what: string) => {
    try {
      return compileExpression(text, source.schema);
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      throw new QualityInputError(`${what}: ${error.message}`, 'fix the definition and recompile', {
        cause: error,
      });
    }
  };
  const rowFilter =
    source.filter === undefined
      ? undefined
      : compile(source.filter, `the row filter of source "${source.name}"`);
  const columns = new Map(alongside.map((name) => [name, dialect.quote(name)]));
  for (const feature of view.features)
    columns.set(
      feature.name,
      feature.expr === undefined
        ? dialect.quote(feature.name)
        : `${renderExpressionAs(compile(feature.expr, `feature "${view.name}.${feature.name}"`), feature.type as ScalarType, dialect)} AS ${dialect.quote(feature.name)}`,
    );
  const rows = viewSourceRelation(
    { source: view.source, ...(rowFilter ? { rowFilter } : {}) },
    dialect,
  );
  return `(SELECT ${[...columns.values()].join(', ')} FROM ${rows} fstore_view_rows)`;
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
