import type { ValueType } from '../definitions/index.ts';
import { type DemoOptions, parseDemoOptions } from './demo-options.ts';
import { Prng } from './prng.ts';

/**
 * Demo rows of the churn example sources (feature-defs/sources.ts). Timestamps are epoch
 * milliseconds (UTC) on whole seconds after the range start, so they survive any microsecond
 * engine unchanged.
 */
export type ProfileRow = {
  readonly customer_id: string;
  readonly age: number;
  readonly plan: Plan;
  readonly region: Region | null;
  readonly monthly_charges: number | null;
  readonly tenure_months: number;
  readonly event_ts: number;
  readonly created_ts: number;
};

export type ContractRow = {
  readonly customer_id: string;
  readonly contract_type: ContractType;
  readonly payment_method: PaymentMethod | null;
  readonly event_ts: number;
  readonly created_ts: number;
};

export type OrderRow = {
  readonly order_id: string;
  readonly customer_id: string;
  readonly amount: number;
  readonly category: Category | null;
  readonly event_ts: number;
  readonly created_ts: number;
};

export type DemoValue = string | number | null;
/** Any demo row: column name → value. */
export type DemoRow = Readonly<Record<string, DemoValue>>;

/** All rows of one customer, each source's rows ordered by (event_ts, created_ts). */
export interface CustomerRows {
  readonly customerId: string;
  readonly customer_profiles: readonly ProfileRow[];
  readonly customer_contracts: readonly ContractRow[];
  readonly orders: readonly OrderRow[];
}

export const demoSources = ['customer_profiles', 'customer_contracts', 'orders'] as const;
export type DemoSource = (typeof demoSources)[number];

export interface DemoColumn {
  readonly name: string;
  readonly type: ValueType;
}

/** The columns the generator produces, equal to the schemas in feature-defs/sources.ts. */
export const demoColumns: Readonly<Record<DemoSource, readonly DemoColumn[]>> = {
  customer_profiles: [
    { name: 'customer_id', type: 'string' },
    { name: 'age', type: 'int32' },
    { name: 'plan', type: 'string' },
    { name: 'region', type: 'string' },
    { name: 'monthly_charges', type: 'float64' },
    { name: 'tenure_months', type: 'int32' },
    { name: 'event_ts', type: 'timestamp' },
    { name: 'created_ts', type: 'timestamp' },
  ],
  customer_contracts: [
    { name: 'customer_id', type: 'string' },
    { name: 'contract_type', type: 'string' },
    { name: 'payment_method', type: 'string' },
    { name: 'event_ts', type: 'timestamp' },
    { name: 'created_ts', type: 'timestamp' },
  ],
  orders: [
    { name: 'order_id', type: 'string' },
    { name: 'customer_id', type: 'string' },
    { name: 'amount', type: 'float64' },
    { name: 'category', type: 'string' },
    { name: 'event_ts', type: 'timestamp' },
    { name: 'created_ts', type: 'timestamp' },
  ],
};

export const plans = ['basic', 'standard', 'premium'] as const;
export const regions = ['north', 'south', 'east', 'west'] as const;
export const contractTypes = ['month_to_month', 'one_year', 'two_year'] as const;
export const paymentMethods = ['card', 'bank_transfer', 'paypal', 'invoice'] as const;
export const orderCategories = [
  'electronics',
  'books',
  'grocery',
  'clothing',
  'home',
  'sports',
] as const;
type Plan = (typeof plans)[number];
type Region = (typeof regions)[number];
type ContractType = (typeof contractTypes)[number];
type PaymentMethod = (typeof paymentMethods)[number];
type Category = (typeof orderCategories)[number];

/** Monthly price range per plan in cents. */
const planCents: Record<Plan, readonly [number, number]> = {
  basic: [2000, 4500],
  standard: [4500, 8000],
  premium: [8000, 12000],
};

/** Shape of the data; tests rely on these bounds. */
export const demoShape = {
  /** First profile snapshot within this many days of the start (or the whole range if shorter). */
  firstProfileWithinDays: 3,
  /** Gap between two profile snapshots: [min, max) days. */
  profileGapDays: [3, 11],
  /** Contract changes per customer; the first one falls in the first tenth of the range. */
  contractChanges: [1, 3],
  customersWithoutOrders: 0.15,
  /** Share of rows written 1-12 hours after the event; the rest arrive within 30 minutes. */
  lateRows: 0.1,
  /** Share of rows followed by a second row with the same event time, written later. */
  sameEventTimeRows: 0.03,
  customersWithoutRegion: 0.03,
  /** Share of rows with NULL in the nullable features region, monthly_charges, payment_method, category. */
  nullValues: 0.02,
} as const;

const daySeconds = 86_400;
const hourSeconds = 3_600;

export function customerId(index: number): string {
  return `C${String(index).padStart(6, '0')}`;
}

const cents = (value: number) => Math.round(value * 100) / 100;

/** The time range as whole seconds after `start`: second s is at `start + s * 1000` ms. */
interface Range {
  readonly start: number;
  readonly seconds: number;
}

const at = (range: Range, second: number) => range.start + second * 1000;

/**
 * Rows of the three churn sources, one customer at a time so callers can stream them. Pure and
 * deterministic: each customer and source has its own PRNG stream derived from
 * (seed, customer index, source), so the same options always give the same rows.
 */
export function* generateDemoRows(input: DemoOptions): Generator<CustomerRows, void, undefined> {
  const options = parseDemoOptions(input);
  const range: Range = {
    start: options.end.getTime() - options.days * daySeconds * 1000,
    seconds: options.days * daySeconds,
  };
  for (let index = 1; index <= options.customers; index++) {
    const id = customerId(index);
    yield {
      customerId: id,
      customer_profiles: profileRows(new Prng(options.seed, index, 1), id, range),
      customer_contracts: contractRows(new Prng(options.seed, index, 2), id, range),
      orders: orderRows(new Prng(options.seed, index, 3), id, range),
    };
  }
}

/** Second at which a row about `event` was written: minutes later, sometimes hours (late data). */
function createdSecond(rng: Prng, range: Range, event: number): number {
  const lateness = rng.chance(demoShape.lateRows)
    ? rng.int(hourSeconds, 12 * hourSeconds)
    : rng.int(0, 30 * 60);
  return Math.min(event + lateness, range.seconds - 1);
}

/**
 * Created second of a second row with the same event time (a correction or a duplicate
 * delivery), strictly later than the first one; undefined when the range ends too soon.
 */
function laterCreatedSecond(rng: Prng, range: Range, created: number): number | undefined {
  const later = created + rng.int(60, 6 * hourSeconds);
  return later < range.seconds ? later : undefined;
}

const nullable = <T>(rng: Prng, value: T): T | null =>
  rng.chance(demoShape.nullValues) ? null : value;

function planPrice(rng: Prng, plan: Plan): number {
  const [low, high] = planCents[plan];
  return rng.int(low, high) / 100;
}

function profileRows(rng: Prng, id: string, range: Range): ProfileRow[] {
  const rows: ProfileRow[] = [];
  const age0 = rng.int(18, 80);
  const tenure0 = rng.int(0, 72);
  const homeRegion = rng.chance(demoShape.customersWithoutRegion) ? null : rng.pick(regions);
  let plan = rng.pick(plans);
  let charges = planPrice(rng, plan);
  const [minGap, maxGap] = demoShape.profileGapDays;
  let second = rng.int(
    0,
    Math.min(demoShape.firstProfileWithinDays * daySeconds, range.seconds) - 1,
  );
  while (second < range.seconds) {
    if (rows.length > 0) {
      if (rng.chance(0.08)) {
        plan = rng.pick(plans);
        charges = planPrice(rng, plan);
      } else if (rng.chance(0.1)) {
        const [low, high] = planCents[plan];
        const cent = Math.round(charges * 100) + rng.int(-500, 500);
        charges = Math.min(high, Math.max(low, cent)) / 100;
      }
    }
    const elapsedDays = Math.floor(second / daySeconds);
    const created = createdSecond(rng, range, second);
    const row: ProfileRow = {
      customer_id: id,
      age: age0 + Math.floor(elapsedDays / 365),
      plan,
      region: homeRegion === null ? null : nullable(rng, homeRegion),
      monthly_charges: nullable(rng, charges),
      tenure_months: tenure0 + Math.floor(elapsedDays / 30),
      event_ts: at(range, second),
      created_ts: at(range, created),
    };
    rows.push(row);
    if (rng.chance(demoShape.sameEventTimeRows)) {
      const later = laterCreatedSecond(rng, range, created);
      // A correction of the same snapshot: exercises the created-time tie-break.
      if (later !== undefined)
        rows.push({
          ...row,
          monthly_charges: Math.max(0, cents(charges + rng.int(-500, 500) / 100)),
          created_ts: at(range, later),
        });
    }
    second += rng.int(minGap * daySeconds, maxGap * daySeconds - 1);
  }
  return rows;
}

function contractRows(rng: Prng, id: string, range: Range): ContractRow[] {
  const [minChanges, maxChanges] = demoShape.contractChanges;
  const changes = rng.int(minChanges, maxChanges);
  const seconds = [rng.int(0, Math.max(1, Math.floor(range.seconds / 10)) - 1)];
  for (let i = 1; i < changes; i++) seconds.push(rng.int(0, range.seconds - 1));
  seconds.sort((a, b) => a - b);
  const rows: ContractRow[] = [];
  let contractType = rng.pick(contractTypes);
  let paymentMethod = rng.pick(paymentMethods);
  for (const [i, second] of seconds.entries()) {
    if (i > 0) {
      contractType = rng.pick(contractTypes.filter((t) => t !== contractType));
      if (rng.chance(0.3)) paymentMethod = rng.pick(paymentMethods);
    }
    const created = createdSecond(rng, range, second);
    const row: ContractRow = {
      customer_id: id,
      contract_type: contractType,
      payment_method: nullable(rng, paymentMethod),
      event_ts: at(range, second),
      created_ts: at(range, created),
    };
    rows.push(row);
    if (rng.chance(demoShape.sameEventTimeRows)) {
      const later = laterCreatedSecond(rng, range, created);
      // The billing system re-sent the change with a corrected payment method.
      if (later !== undefined)
        rows.push({
          ...row,
          payment_method: rng.pick(paymentMethods),
          created_ts: at(range, later),
        });
    }
  }
  // Two changes can fall on the same second; keep the (event_ts, created_ts) order.
  return rows.sort((a, b) => a.event_ts - b.event_ts || a.created_ts - b.created_ts);
}

function orderRows(rng: Prng, id: string, range: Range): OrderRow[] {
  if (rng.chance(demoShape.customersWithoutOrders)) return [];
  const weeks = Math.max(1, Math.round(range.seconds / (7 * daySeconds)));
  const count = rng.int(1, Math.max(1, Math.round(weeks * rng.next() * 1.5)));
  const seconds = Array.from({ length: count }, () => rng.int(0, range.seconds - 1)).sort(
    (a, b) => a - b,
  );
  const timed: { event: number; created: number }[] = [];
  for (const second of seconds) {
    const created = createdSecond(rng, range, second);
    timed.push({ event: second, created });
    if (rng.chance(demoShape.sameEventTimeRows)) {
      // Two orders placed in the same second, recorded one after the other.
      const later = laterCreatedSecond(rng, range, created);
      if (later !== undefined) timed.push({ event: second, created: later });
    }
  }
  timed.sort((a, b) => a.event - b.event || a.created - b.created);
  const prefix = `O${id.slice(1)}-`;
  return timed.map(({ event, created }, i) => ({
    order_id: `${prefix}${String(i + 1).padStart(4, '0')}`,
    customer_id: id,
    amount: cents(Math.max(1, Math.exp(rng.next() * 4 + 1.6))),
    category: nullable(rng, rng.pick(orderCategories)),
    event_ts: at(range, event),
    created_ts: at(range, created),
  }));
}
