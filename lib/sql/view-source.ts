import type { ScalarType } from '../definitions/value-types.ts';
import { expressionColumns, type TypedExpression } from '../expressions/index.ts';
import type { Dialect } from './dialect.ts';
import type { PlannedFeature, PlannedView } from './point-in-time-plan.ts';
import { renderExpression, renderExpressionAs } from './render-expression.ts';

/**
 * The rows of a view's source as every read sees them: the stored rows, less those its row
 * filter does not hold TRUE for (docs/expressions.md). Without a filter, the dialect's relation.
 */
export function viewSourceRelation(
  view: { readonly source: string; readonly rowFilter?: TypedExpression },
  dialect: Dialect,
): string {
  const relation = dialect.sourceRelation(view.source);
  if (!view.rowFilter) return relation;
  return `(SELECT * FROM ${relation} fstore_unfiltered WHERE ${renderExpression(view.rowFilter, dialect)})`;
}

/** The source columns a view's features and row filter read (a derived feature reads its expression's). */
export function featureSourceColumns(view: PlannedView): string[] {
  return [
    ...new Set([
      ...view.features.flatMap((f) =>
        f.expression ? expressionColumns(f.expression) : [f.feature],
      ),
      ...(view.rowFilter ? expressionColumns(view.rowFilter) : []),
    ]),
  ];
}

/** A planned feature's value over a source row: its expression, or its column, as its type. */
export function featureValue(feature: PlannedFeature, dialect: Dialect): string {
  if (feature.expression)
    return renderExpressionAs(feature.expression, feature.type as ScalarType, dialect);
  const column = dialect.quote(feature.feature);
  return feature.type === feature.sourceType
    ? column
    : `CAST(${column} AS ${dialect.sqlType(feature.type)})`;
}
