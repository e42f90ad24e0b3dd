import { z } from 'zod';
import { didYouMean } from '../closest-names.ts';
import { listItemField } from './errors.ts';
import {
  type FeatureSelection,
  type FeatureView,
  isFeatureSelection,
  isFeatureView,
  type LifecycleStatus,
  lifecycleStatuses,
} from './feature-view.ts';
import { columnNameProblem } from './identifiers.ts';
import {
  isOnDemandSelection,
  isOnDemandView,
  type OnDemandSelection,
  type OnDemandView,
} from './on-demand-view.ts';
import {
  type DefinitionKind,
  type DefinitionMetadata,
  deepFreeze,
  definitionLabel,
  IssueCollector,
  identifier,
  type MetadataInput,
  metadataFields,
  metadataOf,
  parseDefinition,
} from './schema-parts.ts';

export interface ServiceFeature {
  readonly view: FeatureView;
  readonly feature: string;
  /** Name the feature is returned under; the feature's own name when no alias is given. */
  readonly outputName: string;
  readonly alias?: string;
}

/** A feature of an on-demand view in a service, computed at request time from its inputs. */
export interface OnDemandServiceFeature {
  readonly view: OnDemandView;
  readonly feature: string;
  readonly outputName: string;
  readonly alias?: string;
}

/** The features one model consumes: the contract shared by training sets and the online API. */
export interface FeatureService extends DefinitionMetadata {
  readonly kind: 'featureService';
  readonly name: string;
  readonly features: readonly ServiceFeature[];
  /** Features of on-demand views, when the service selects any. */
  readonly onDemandFeatures?: readonly OnDemandServiceFeature[];
  readonly status: LifecycleStatus;
}

export interface FeatureServiceInput extends MetadataInput {
  name: string;
  /** `view.select([...])` for some features of a view, or the view itself for all of them. */
  features: (FeatureSelection | FeatureView | OnDemandSelection | OnDemandView)[];
  status?: LifecycleStatus;
}

const kind: DefinitionKind = 'feature service';

const serviceSchema = z.strictObject({
  name: identifier,
  features: z
    .array(
      z.custom<FeatureSelection | FeatureView | OnDemandSelection | OnDemandView>(
        (value) =>
          isFeatureSelection(value) ||
          isFeatureView(value) ||
          isOnDemandSelection(value) ||
          isOnDemandView(value),
        'must be a feature view, an on-demand view or view.select([...])',
      ),
    )
    .min(1, 'needs at least one feature selection'),
  status: z
    .enum(lifecycleStatuses, {
      error: (issue) => `${JSON.stringify(issue.input)} is not a lifecycle status`,
    })
    .optional(),
  ...metadataFields,
});

export function defineFeatureService(input: FeatureServiceInput): FeatureService {
  const parsed = parseDefinition(serviceSchema, kind, input);
  const issues = new IssueCollector(definitionLabel(kind, input));
  const features: ServiceFeature[] = [];
  const onDemandFeatures: OnDemandServiceFeature[] = [];
  const producers = new Map<string, string>();
  const outputFields = new Map<string, string>();

  parsed.features.forEach((entry) => {
    const selection = isFeatureView(entry) || isOnDemandView(entry) ? entry.select() : entry;
    const view = selection.view;
    const available = new Set(view.features.map((f) => f.name));
    if (selection.features.length === 0)
      issues.add(
        listItemField('features', view.name),
        `selects no features of view "${view.name}"`,
        'name at least one feature, or pass the view to select all',
      );
    selection.features.forEach((item) => {
      const field = `${listItemField('features', view.name)}.${item.feature}`;
      if (!available.has(item.feature)) {
        issues.add(
          field,
          `view "${view.name}" has no feature "${item.feature}" (it has ${[...available].join(', ')})${didYouMean(item.feature, available)}`,
          'fix the feature name or add the feature to the view',
        );
        return;
      }
      if (item.alias !== undefined) {
        // An alias is a column of training sets, so it follows the rules of feature names.
        const problem = columnNameProblem(item.alias);
        if (problem) {
          issues.add(`${field}.alias`, problem.message, problem.hint);
          return;
        }
      }
      const outputName = item.alias ?? item.feature;
      const producer = `${view.name}.${item.feature}`;
      const earlier = producers.get(outputName);
      if (earlier !== undefined) {
        issues.add(
          field,
          `output name "${outputName}" is produced by both ${earlier} and ${producer}`,
          `alias one of them, e.g. ${view.name}.select([{ feature: '${item.feature}', alias: '${view.name}_${item.feature}' }])`,
        );
        return;
      }
      producers.set(outputName, producer);
      outputFields.set(outputName, field);
      const chosen = {
        feature: item.feature,
        outputName,
        ...(item.alias !== undefined ? { alias: item.alias } : {}),
      };
      if (isOnDemandView(view)) onDemandFeatures.push({ view, ...chosen });
      else features.push({ view, ...chosen });
    });
  });
  // Training sets and lookups return the join keys of every view next to the features.
  const keyOwners = new Map<string, string>();
  for (const { view } of [...features, ...onDemandFeatures])
    for (const entity of view.entities)
      for (const key of entity.joinKeys)
        if (!keyOwners.has(key.name)) keyOwners.set(key.name, `${view.name} (${entity.name})`);
  for (const feature of [...features, ...onDemandFeatures]) {
    const owner = keyOwners.get(feature.outputName);
    if (owner === undefined) continue;
    issues.add(
      outputFields.get(feature.outputName) ?? 'features',
      `output name "${feature.outputName}" of ${feature.view.name}.${feature.feature} is also a join key of view ${owner}`,
      `alias it, e.g. ${feature.view.name}.select([{ feature: '${feature.feature}', alias: '${feature.view.name}_${feature.feature}' }])`,
    );
  }
  checkRequestFields(issues, onDemandFeatures, keyOwners, [...features, ...onDemandFeatures]);
  issues.throwIfAny();

  return deepFreeze({
    kind: 'featureService',
    name: parsed.name,
    features,
    ...(onDemandFeatures.length > 0 ? { onDemandFeatures } : {}),
    status: parsed.status ?? 'active',
    ...metadataOf(parsed),
  });
}

/**
 * A lookup sends request values beside the join keys, one name space: a request field may not
 * be a join key of the service or the name of one of its outputs (a training set's entity file
 * holds it as a column beside them), and two on-demand views asking for one name must agree on
 * its type.
 */
function checkRequestFields(
  issues: IssueCollector,
  onDemandFeatures: readonly OnDemandServiceFeature[],
  keyOwners: ReadonlyMap<string, string>,
  outputs: readonly { view: { name: string }; feature: string; outputName: string }[],
): void {
  // A training set's entity file holds the request values as columns beside the features.
  const outputOf = new Map(outputs.map((o) => [o.outputName, `${o.view.name}.${o.feature}`]));
  const typeOf = new Map<string, { type: string; view: string }>();
  for (const view of new Set(onDemandFeatures.map((f) => f.view))) {
    for (const field of view.request) {
      const where = listItemField('features', view.name);
      const owner = keyOwners.get(field.name);
      const earlier = typeOf.get(field.name);
      const output = outputOf.get(field.name);
      if (output !== undefined)
        issues.add(
          where,
          `request field "${field.name}" of on-demand view "${view.name}" has the name of the service's output ${output}`,
          'rename the request field, or alias the output in the service',
        );
      else if (owner !== undefined)
        issues.add(
          where,
          `request field "${field.name}" of on-demand view "${view.name}" is also a join key of view ${owner}`,
          'rename the request field',
        );
      else if (earlier && earlier.type !== field.type)
        issues.add(
          where,
          `request field "${field.name}" is ${field.type} in on-demand view "${view.name}" but ${earlier.type} in "${earlier.view}"`,
          'give the request fields one type, or rename one',
        );
      else typeOf.set(field.name, { type: field.type, view: view.name });
    }
  }
}

export function isFeatureService(value: unknown): value is FeatureService {
  return (value as FeatureService | null)?.kind === 'featureService';
}
