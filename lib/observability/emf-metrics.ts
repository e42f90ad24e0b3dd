/**
 * CloudWatch metrics as Embedded Metric Format log lines, for the lookup Lambda: the same
 * document Powertools' Metrics writes (one directive, the `service` dimension, values at the
 * root, a repeated metric as an array), without its load at cold start (ADR 0014).
 * Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** The CloudWatch units the lookup writes (Powertools' MetricUnit spells them the same). */
export const MetricUnit = {
  Count: 'Count',
  Percent: 'Percent',
  Milliseconds: 'Milliseconds',
} as const;
export type MetricUnitName = (typeof MetricUnit)[keyof typeof MetricUnit];

/** What a handler needs of a metrics sink; Powertools' Metrics has the same two methods. */
export interface MetricsSink {
  addMetric(name: string, unit: MetricUnitName, value: number): unknown;
  publishStoredMetrics(): unknown;
}

/** EMF allows at most 100 metric definitions per directive and 100 values per metric. */
export const maxMetricsPerDocument = 100;
export const maxValuesPerMetric = 100;

export interface EmfMetricsOptions {
  readonly namespace: string;
  readonly serviceName: string;
  /** Where a document goes, one JSON line each; standard output by default. */
  readonly write?: (line: string) => void;
  /** Read once: POWERTOOLS_METRICS_DISABLED=true (or 1) writes nothing, as Powertools does. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
}

interface StoredMetric {
  readonly unit: MetricUnitName;
  readonly values: number[];
}

export class EmfMetrics implements MetricsSink {
  readonly #namespace: string;
  readonly #serviceName: string;
  readonly #write: (line: string) => void;
  readonly #disabled: boolean;
  readonly #now: () => number;
  #stored = new Map<string, StoredMetric>();

  constructor(options: EmfMetricsOptions) {
    if (!options.namespace) throw new Error('EmfMetrics: namespace must not be empty');
    if (!options.serviceName) throw new Error('EmfMetrics: serviceName must not be empty');
    this.#namespace = options.namespace;
    this.#serviceName = options.serviceName;
    this.#write = options.write ?? ((line) => process.stdout.write(line));
    const disabled = (options.env ?? process.env).POWERTOOLS_METRICS_DISABLED?.toLowerCase();
    this.#disabled = disabled === 'true' || disabled === '1';
    this.#now = options.now ?? Date.now;
  }

  /** Stores a value; a name added again in the same invocation becomes an array of values. */
  addMetric(name: string, unit: MetricUnitName, value: number): void {
    if (!name || name === 'service' || name === '_aws')
      throw new Error(`EmfMetrics: metric name ${JSON.stringify(name)} is empty or reserved`);
    if (!Number.isFinite(value))
      throw new Error(`EmfMetrics: metric ${name} value must be a finite number, got ${value}`);
    const stored = this.#stored.get(name);
    if (stored && stored.unit !== unit)
      throw new Error(
        `EmfMetrics: metric ${name} was added with unit ${stored.unit}, cannot add it as ${unit}`,
      );
    if (!stored && this.#stored.size === maxMetricsPerDocument) this.publishStoredMetrics();
    else if (stored && stored.values.length === maxValuesPerMetric) this.publishStoredMetrics();
    const target = this.#stored.get(name);
    if (target) target.values.push(value);
    else this.#stored.set(name, { unit, values: [value] });
  }

  /** Writes the stored metrics as one EMF document (nothing when none) and clears them. */
  publishStoredMetrics(): void {
    const stored = this.#stored;
    this.#stored = new Map();
    if (this.#disabled || stored.size === 0) return;
    this.#write(`${JSON.stringify(this.document(stored))}\n`);
  }

  private document(stored: ReadonlyMap<string, StoredMetric>) {
    const values: Record<string, number | number[]> = {};
    for (const [name, metric] of stored)
      values[name] = metric.values.length === 1 ? (metric.values[0] as number) : metric.values;
    return {
      _aws: {
        Timestamp: this.#now(),
        CloudWatchMetrics: [
          {
            Namespace: this.#namespace,
            Dimensions: [['service']],
            Metrics: [...stored].map(([name, metric]) => ({ Name: name, Unit: metric.unit })),
          },
        ],
      },
      service: this.#serviceName,
      ...values,
    };
  }
}
