import type { FeatureResult } from '../online/online-lookup.ts';

export interface LookupStats {
  readonly entities: number;
  readonly features: number;
  readonly notFound: number;
  readonly outsideTtl: number;
  readonly nullValues: number;
}

/** What was looked up: `{"service": name}` or `{"view": name}` leads the answer. */
export interface LookupTarget {
  readonly kind: 'service' | 'view';
  readonly name: string;
}

/**
 * The body of a lookup answer, `{"service"|"view": name, "results": [{"entity", "features"}]}`,
 * as JSON text, and the status counts for metrics, in one pass over the results. The text is
 * what JSON.stringify makes of the same object (a property test holds it to that), written
 * about four times faster for 100 entities × 50 features: the `status` and `event_timestamp`
 * text, shared by the features of one item, is made once per item instead of per feature.
 */
export function lookupResponseJson(
  target: LookupTarget,
  entities: readonly unknown[],
  results: readonly Readonly<Record<string, FeatureResult>>[],
): { body: string; stats: LookupStats } {
  const nameJson = new Map<string, string>();
  let features = 0;
  let notFound = 0;
  let outsideTtl = 0;
  let nullValues = 0;
  let lastStatus: string | undefined;
  let lastTimestamp: string | null | undefined;
  let tail = '';
  let body = `{${JSON.stringify(target.kind)}:${JSON.stringify(target.name)},"results":[`;
  for (let index = 0; index < results.length; index++) {
    const result = results[index] as Readonly<Record<string, FeatureResult>>;
    body += `${index === 0 ? '' : ','}{"entity":${JSON.stringify(entities[index])},"features":{`;
    let first = true;
    for (const name of Object.keys(result)) {
      const feature = result[name] as FeatureResult;
      features += 1;
      if (feature.status === 'NOT_FOUND') notFound += 1;
      else if (feature.status === 'OUTSIDE_TTL') outsideTtl += 1;
      else if (feature.status === 'NULL_VALUE') nullValues += 1;
      if (feature.status !== lastStatus || feature.event_timestamp !== lastTimestamp) {
        lastStatus = feature.status;
        lastTimestamp = feature.event_timestamp;
        tail = `"status":${JSON.stringify(lastStatus)},"event_timestamp":${JSON.stringify(lastTimestamp)}}`;
      }
      let key = nameJson.get(name);
      if (key === undefined) {
        key = `${JSON.stringify(name)}:{`;
        nameJson.set(name, key);
      }
      const value = valueJson(feature.value);
      // JSON.stringify leaves out a property whose value has no JSON form (undefined).
      body += `${first ? '' : ','}${key}${value === undefined ? '' : `"value":${value},`}${tail}`;
      first = false;
    }
    body += '}}';
  }
  body += ']}';
  return {
    body,
    stats: { entities: results.length, features, notFound, outsideTtl, nullValues },
  };
}

function valueJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return value === null ? 'null' : JSON.stringify(value);
  }
}
