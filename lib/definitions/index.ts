export { type AggregationInput, defineAggregationView } from './aggregation-view.ts';
export { formatDuration, parseDuration } from './duration.ts';
export { defineEntity, type Entity, type EntityInput, isEntity, type JoinKey } from './entity.ts';
export { DefinitionError, type DefinitionIssue, formatIssue } from './errors.ts';
export {
  defineFeatureService,
  type FeatureService,
  type FeatureServiceInput,
  isFeatureService,
  type OnDemandServiceFeature,
  type ServiceFeature,
} from './feature-service.ts';
export {
  type AggregationFunction,
  type AggregationSpec,
  aggregationFunctions,
  defineFeatureView,
  type FeatureInput,
  type FeatureSelection,
  type FeatureSpec,
  type FeatureView,
  type FeatureViewInput,
  isFeatureSelection,
  isFeatureView,
  type LifecycleStatus,
  lifecycleStatuses,
  type QualityRules,
  type SelectItem,
} from './feature-view.ts';
export { identifierProblem } from './identifiers.ts';
export {
  defineOnDemandView,
  isOnDemandSelection,
  isOnDemandView,
  type OnDemandInput,
  type OnDemandSelection,
  type OnDemandView,
  type OnDemandViewInput,
  type RequestField,
} from './on-demand-view.ts';
export { type ParsedSchedule, parseSchedule, ScheduleError } from './schedule.ts';
export {
  defineSource,
  isSource,
  type Source,
  type SourceColumn,
  type SourceInput,
} from './source.ts';
export type {
  CreatedKinesisStreamInput,
  ImportedKinesisStreamInput,
  SourceStream,
  SourceStreamInput,
} from './source-stream.ts';
export {
  type JoinKeyType,
  joinKeyTypes,
  type ScalarType,
  scalarTypes,
  type ValueType,
  valueTypes,
} from './value-types.ts';
