/**
 * Deterministic demo data for the churn example (feature-defs/): `generateDemoRows` yields the
 * rows of customer_profiles, customer_contracts and orders one customer at a time;
 * `writeDemoData` writes them as one Parquet or CSV file per source through DuckDB.
 */
export {
  type DemoFormat,
  type DemoOptions,
  DemoOptionsError,
  demoFormats,
  demoOptionsSchema,
  maxDemoCustomers,
  maxDemoDays,
  parseDemoOptions,
  startOfUtcDay,
} from './demo-options.ts';
export {
  type ContractRow,
  type CustomerRows,
  contractTypes,
  customerId,
  type DemoColumn,
  type DemoRow,
  type DemoSource,
  type DemoValue,
  demoColumns,
  demoShape,
  demoSources,
  generateDemoRows,
  type OrderRow,
  orderCategories,
  type ProfileRow,
  paymentMethods,
  plans,
  regions,
} from './demo-rows.ts';
export { Prng } from './prng.ts';
export {
  type DemoDataSummary,
  type DemoFileSummary,
  type DemoProgress,
  type WriteDemoDataOptions,
  writeDemoData,
  writeDemoDataOptionsSchema,
} from './write-demo-data.ts';
