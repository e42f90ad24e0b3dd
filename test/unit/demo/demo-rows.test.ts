import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CustomerRows,
  customerId,
  DemoOptionsError,
  type DemoRow,
  type DemoSource,
  demoColumns,
  demoShape,
  demoSources,
  generateDemoRows,
  Prng,
} from '../../../lib/demo/index.ts';
import type { Registry } from '../../../lib/registry/index.ts';
import { columnRules, loadChurnRegistry, ruleViolations } from './demo-constraints.ts';

const end = new Date('2026-06-01T00:00:00Z');
const dayMs = 86_400_000;
const hourMs = 3_600_000;
const options = { customers: 50, days: 30, seed: 7, end };

const rowsOf = (customers: readonly CustomerRows[], source: DemoSource): DemoRow[] =>
  customers.flatMap((c): readonly DemoRow[] => c[source]);
const ts = (row: DemoRow, column: 'event_ts' | 'created_ts') => row[column] as number;

describe('generateDemoRows', () => {
  const customers = [...generateDemoRows(options)];
  /** More customers for properties that only show in a few percent of rows. */
  const many = [...generateDemoRows({ ...options, customers: 400 })];
  let registry: Registry;
  beforeAll(async () => {
    registry = await loadChurnRegistry();
  });

  it('numbers customers C000001, C000002, ... zero-padded to six digits, wider past 999999', () => {
    expect(customers.map((c) => c.customerId)).toEqual(
      Array.from({ length: 50 }, (_, i) => `C${String(i + 1).padStart(6, '0')}`),
    );
    for (const source of demoSources)
      for (const c of customers)
        expect(c[source].every((row) => row.customer_id === c.customerId)).toBe(true);
    expect(customerId(999_999)).toBe('C999999');
    expect(customerId(1_000_000)).toBe('C1000000');
  });

  it('gives order ids O<customer digits>-<sequence>, unique across the data', () => {
    const ids = rowsOf(many, 'orders').map((r) => r.order_id as string);
    expect(ids.every((id) => /^O\d{6}-\d{4}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(rowsOf(customers, 'orders')[0]?.order_id).toMatch(/^O\d{6}-0001$/);
  });

  it('gives identical rows for the same options and different rows for another seed', () => {
    expect([...generateDemoRows(options)]).toEqual(customers);
    const other = [...generateDemoRows({ ...options, seed: 8 })];
    for (const source of demoSources)
      expect(rowsOf(other, source)).not.toEqual(rowsOf(customers, source));
  });

  it("keeps a customer's rows independent of how many customers are generated", () => {
    expect([...generateDemoRows({ ...options, customers: 10 })]).toEqual(customers.slice(0, 10));
  });

  it('produces exactly the columns of the example sources in feature-defs/sources.ts', () => {
    for (const source of demoSources) {
      const declared = registry.sources.find((s) => s.name === source)?.schema;
      expect(demoColumns[source]).toEqual(declared);
      const names = declared?.map((c) => c.name);
      for (const row of rowsOf(customers, source)) expect(Object.keys(row)).toEqual(names);
    }
  });

  it('satisfies the types, nullability, min, max and allowed values the registry declares', () => {
    for (const source of demoSources) {
      const rules = columnRules(registry, source);
      const problems = rowsOf(many, source).flatMap((row) =>
        ruleViolations(row, rules).map((p) => `${source} ${row.customer_id}: ${p}`),
      );
      expect(problems).toEqual([]);
    }
  });

  it('rounds money to cents, with positive order amounts', () => {
    const isCents = (v: number) => Math.abs(v * 100 - Math.round(v * 100)) < 1e-6;
    for (const row of rowsOf(many, 'customer_profiles'))
      if (row.monthly_charges !== null) expect(isCents(row.monthly_charges as number)).toBe(true);
    for (const row of rowsOf(many, 'orders')) {
      expect(row.amount).toBeGreaterThan(0);
      expect(isCents(row.amount as number)).toBe(true);
    }
  });

  it('keeps timestamps on whole seconds in [end - days, end), created at or after the event', () => {
    const oddEnd = new Date('2026-06-01T12:34:56.789Z');
    for (const [data, at] of [
      [many, end],
      [[...generateDemoRows({ ...options, end: oddEnd })], oddEnd],
    ] as const) {
      const start = at.getTime() - 30 * dayMs;
      for (const source of demoSources)
        for (const row of rowsOf(data, source)) {
          const [event, created] = [ts(row, 'event_ts'), ts(row, 'created_ts')];
          expect(event).toBeGreaterThanOrEqual(start);
          expect(created).toBeGreaterThanOrEqual(event);
          expect(created).toBeLessThan(at.getTime());
          expect((event - start) % 1000).toBe(0);
          expect((created - start) % 1000).toBe(0);
        }
    }
  });

  it("orders each customer's rows by event time then created time, with no full duplicates", () => {
    for (const source of demoSources)
      for (const c of many) {
        const rows = c[source];
        const keys = rows.map((r) => [r.event_ts, r.created_ts] as const);
        const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect(keys).toEqual(sorted);
        expect(new Set(keys.map((k) => k.join())).size).toBe(keys.length);
      }
  });

  it('gives every customer a profile every few days, so the 30d profile TTL always finds one', () => {
    const [minGap, maxGap] = demoShape.profileGapDays;
    const year = [...generateDemoRows({ ...options, customers: 100, days: 365 })];
    const start = end.getTime() - 365 * dayMs;
    for (const c of year) {
      const events = [...new Set(c.customer_profiles.map((r) => r.event_ts))];
      expect(events[0]).toBeLessThan(start + demoShape.firstProfileWithinDays * dayMs);
      expect(end.getTime() - (events.at(-1) as number)).toBeLessThan(maxGap * dayMs);
      for (let i = 1; i < events.length; i++) {
        const gap = (events[i] as number) - (events[i - 1] as number);
        expect(gap).toBeGreaterThanOrEqual(minGap * dayMs);
        expect(gap).toBeLessThan(maxGap * dayMs);
      }
    }
  });

  it('changes profiles slowly: tenure and age never drop, the plan and charges change now and then', () => {
    const year = [...generateDemoRows({ ...options, customers: 100, days: 365 })];
    let pairs = 0;
    let planChanges = 0;
    let chargeChanges = 0;
    for (const c of year) {
      const rows = c.customer_profiles;
      for (let i = 1; i < rows.length; i++) {
        const [before, after] = [rows[i - 1], rows[i]] as const;
        if (!before || !after || before.event_ts === after.event_ts) continue;
        expect(after.tenure_months).toBeGreaterThanOrEqual(before.tenure_months);
        expect(after.age).toBeGreaterThanOrEqual(before.age);
        expect(after.age - before.age).toBeLessThanOrEqual(1);
        pairs += 1;
        if (after.plan !== before.plan) planChanges += 1;
        if (
          after.monthly_charges !== null &&
          before.monthly_charges !== null &&
          after.monthly_charges !== before.monthly_charges
        )
          chargeChanges += 1;
      }
      expect((rows.at(-1)?.tenure_months ?? 0) - (rows[0]?.tenure_months ?? 0)).toBeGreaterThan(10);
    }
    expect(planChanges).toBeGreaterThan(0);
    expect(planChanges / pairs).toBeLessThan(0.1);
    expect(chargeChanges / pairs).toBeGreaterThan(0.05);
    expect(chargeChanges / pairs).toBeLessThan(0.3);
  });

  it('gives every customer 1 to 3 contract changes, the first in the first tenth of the range', () => {
    const start = end.getTime() - 30 * dayMs;
    const counts = new Set<number>();
    for (const c of many) {
      const changes = new Set(c.customer_contracts.map((r) => r.event_ts));
      expect(changes.size).toBeGreaterThanOrEqual(1);
      expect(changes.size).toBeLessThanOrEqual(3);
      counts.add(changes.size);
      expect(c.customer_contracts[0]?.event_ts).toBeLessThan(start + 3 * dayMs);
    }
    expect([...counts].sort()).toEqual([1, 2, 3]);
  });

  it('has customers without orders and customers with several', () => {
    const orderCounts = many.map((c) => c.orders.length);
    const without = orderCounts.filter((n) => n === 0).length / many.length;
    expect(without).toBeGreaterThan(0.05);
    expect(without).toBeLessThan(0.3);
    expect(Math.max(...orderCounts)).toBeGreaterThan(3);
  });

  it.each(demoSources)(
    'has late rows and same-event-time rows with a later created time in %s',
    (source) => {
      const rows = rowsOf(many, source);
      const late = rows.filter((r) => ts(r, 'created_ts') - ts(r, 'event_ts') >= hourMs);
      expect(late.length / rows.length).toBeGreaterThan(0.03);
      expect(late.length / rows.length).toBeLessThan(0.2);
      const onTime = rows.filter((r) => ts(r, 'created_ts') - ts(r, 'event_ts') <= 30 * 60_000);
      expect(onTime.length / rows.length).toBeGreaterThan(0.8);

      const byEvent = new Map<string, DemoRow[]>();
      for (const r of rows) {
        const key = `${r.customer_id}|${r.event_ts}`;
        byEvent.set(key, [...(byEvent.get(key) ?? []), r]);
      }
      const ties = [...byEvent.values()].filter((group) => group.length > 1);
      expect(ties.length).toBeGreaterThan(0);
      for (const group of ties)
        expect(new Set(group.map((r) => r.created_ts)).size).toBe(group.length);
    },
  );

  it('puts a few NULLs in nullable features only', () => {
    const nullShare = (source: DemoSource, column: string) => {
      const rows = rowsOf(many, source);
      return rows.filter((r) => r[column] === null).length / rows.length;
    };
    for (const [source, column] of [
      ['customer_profiles', 'region'],
      ['customer_profiles', 'monthly_charges'],
      ['customer_contracts', 'payment_method'],
      ['orders', 'category'],
    ] as const) {
      expect(nullShare(source, column), `${source}.${column}`).toBeGreaterThan(0);
      expect(nullShare(source, column), `${source}.${column}`).toBeLessThan(0.1);
    }
    for (const [source, column] of [
      ['customer_profiles', 'plan'],
      ['customer_profiles', 'age'],
      ['customer_profiles', 'tenure_months'],
      ['customer_contracts', 'contract_type'],
      ['orders', 'amount'],
    ] as const)
      expect(nullShare(source, column), `${source}.${column}`).toBe(0);
  });

  it('works for a single customer and a single day', () => {
    const [only, ...rest] = [...generateDemoRows({ ...options, customers: 1, days: 1 })];
    expect(rest).toEqual([]);
    expect(only?.customer_profiles.length).toBeGreaterThanOrEqual(1);
    expect(only?.customer_contracts.length).toBeGreaterThanOrEqual(1);
  });

  it('uses seeds beyond 32 bits and negative seeds as distinct seeds', () => {
    const first = (seed: number) => [...generateDemoRows({ ...options, customers: 1, seed })];
    expect(first(2 ** 32 + 7)).not.toEqual(first(7));
    expect(first(-7)).not.toEqual(first(7));
    expect(first(-7)).toEqual(first(-7));
  });

  it.each([
    [{ customers: 0 }, 'customers', 'customers must be a positive whole number, got 0'],
    [{ customers: -3 }, 'customers', 'customers must be a positive whole number, got -3'],
    [{ customers: 2.5 }, 'customers', 'customers must be a positive whole number, got 2.5'],
    [{ customers: '10' }, 'customers', 'customers must be a positive whole number, got "10"'],
    [{ customers: Number.NaN }, 'customers', 'customers must be a positive whole number, got NaN'],
    [{ customers: 1e8 }, 'customers', 'customers must be at most 10,000,000, got 100000000'],
    [{ days: 0 }, 'days', 'days must be a positive whole number, got 0'],
    [{ days: 5000 }, 'days', 'days must be at most 3,650, got 5000'],
    [{ seed: 1.5 }, 'seed', 'seed must be a whole number, got 1.5'],
    [{ seed: undefined }, 'seed', 'seed must be a whole number, got undefined'],
    [{ end: new Date('nope') }, 'end', 'end must be a valid date, got Invalid Date'],
    [{ end: '2026-06-01' }, 'end', 'end must be a valid date, got "2026-06-01"'],
    [{ colour: 'red' }, 'colour', 'unknown demo-data option "colour"'],
  ])('rejects %o naming the option', (bad, option, message) => {
    const run = () => [...generateDemoRows({ ...options, ...bad } as typeof options)];
    expect(run).toThrow(DemoOptionsError);
    expect(run).toThrow(message);
    try {
      run();
    } catch (error) {
      expect((error as DemoOptionsError).option).toBe(option);
      expect((error as Error).message).toBe(message);
    }
  });
});

describe('Prng', () => {
  it('repeats its sequence for the same seeds and stays in [0, 1)', () => {
    const a = new Prng(42, 1);
    const b = new Prng(42, 1);
    const values = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(values);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Prng(42, 2).next()).not.toBe(values[0]);
  });

  it('draws integers over the whole inclusive range', () => {
    const rng = new Prng(1);
    const seen = new Set(Array.from({ length: 600 }, () => rng.int(1, 6)));
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses seeds that are not integers', () => {
    expect(() => new Prng(1.5)).toThrow('Prng seeds must be integers, got 1.5');
  });
});
