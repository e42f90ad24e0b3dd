/**
 * The rules of CloudWatch's Embedded Metric Format specification that a document must meet for
 * CloudWatch Logs to extract its metrics; the problems found, none when the document is valid.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
const units = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function emfProblems(line: string): string[] {
  const problems: string[] = [];
  if (Buffer.byteLength(line) > 1024 * 1024) problems.push('document larger than 1 MB');
  let root: unknown;
  try {
    root = JSON.parse(line);
  } catch {
    return ['not a JSON text'];
  }
  if (!isObject(root)) return ['root is not an object'];
  const meta = root._aws;
  if (!isObject(meta)) return ['_aws is not an object'];
  if (typeof meta.Timestamp !== 'number' || !Number.isInteger(meta.Timestamp) || meta.Timestamp < 0)
    problems.push('_aws.Timestamp is not milliseconds since the epoch');
  if (!Array.isArray(meta.CloudWatchMetrics))
    return [...problems, '_aws.CloudWatchMetrics is not an array'];
  meta.CloudWatchMetrics.forEach((directive: unknown, d) => {
    const at = `CloudWatchMetrics[${d}]`;
    if (!isObject(directive)) {
      problems.push(`${at} is not an object`);
      return;
    }
    const { Namespace, Dimensions, Metrics } = directive;
    if (typeof Namespace !== 'string' || Namespace.length < 1 || Namespace.length > 1024)
      problems.push(`${at}.Namespace is not a string of 1 to 1024 characters`);
    if (!Array.isArray(Dimensions)) problems.push(`${at}.Dimensions is not an array`);
    else
      Dimensions.forEach((set: unknown, s) => {
        if (!Array.isArray(set) || set.length > 30) {
          problems.push(`${at}.Dimensions[${s}] is not an array of at most 30 names`);
          return;
        }
        for (const name of set)
          if (typeof name !== 'string' || typeof root[name] !== 'string')
            problems.push(`dimension ${String(name)} has no string member at the root`);
      });
    if (!Array.isArray(Metrics) || Metrics.length > 100) {
      problems.push(`${at}.Metrics is not an array of at most 100 definitions`);
      return;
    }
    Metrics.forEach((metric: unknown, m) => {
      if (!isObject(metric) || typeof metric.Name !== 'string' || metric.Name.length < 1) {
        problems.push(`${at}.Metrics[${m}].Name is not a non-empty string`);
        return;
      }
      if (metric.Unit !== undefined && !units.has(String(metric.Unit)))
        problems.push(
          `metric ${metric.Name} has unit ${String(metric.Unit)}, not a CloudWatch unit`,
        );
      if (
        metric.StorageResolution !== undefined &&
        ![1, 60].includes(Number(metric.StorageResolution))
      )
        problems.push(`metric ${metric.Name} StorageResolution is not 1 or 60`);
      const value = root[metric.Name];
      const values = Array.isArray(value) ? value : [value];
      if (values.length > 100 || !values.every((v) => typeof v === 'number'))
        problems.push(
          `metric ${metric.Name} has no number (or array of at most 100 numbers) at the root`,
        );
    });
  });
  return problems;
}
