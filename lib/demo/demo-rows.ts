import { type DemoOptions, parseDemoOptions } from './demo-options.ts';
import { Prng } from './prng.ts';

export type DemoValue = string | number | null;
/** One row: column name → value; timestamps are epoch milliseconds (UTC). */
export type DemoRow = Record<string, DemoValue>;

export interface CustomerRows {
  readonly customerId: string;
  readonly customer_profiles: DemoRow[];
  readonly customer_contracts: DemoRow[];
  readonly orders: DemoRow[];
}

export const demoSources = ['customer_profiles', 'customer_contracts', 'orders'] as const;
export type DemoSource = (typeof demoSources)[number];

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
const plans = ['basic', 'standard', 'premium'] as const;
const planCharges = { basic: [20, 45], standard: [45, 80], premium: [80, 120] } as const;
const regions = ['north', 'south', 'east', 'west'] as const;
const contractTypes = ['month_to_month', 'one_year', 'two_year'] as const;
const paymentMethods = ['card', 'bank_transfer', 'paypal', 'invoice'] as const;
const categories = ['electronics', 'books', 'grocery', 'clothing', 'home', 'sports'] as const;

export function customerId(index: number): string {
  return `C${String(index).padStart(6, '0')}`;
}

const cents = (value: number) => Math.round(value * 100) / 100;
const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;

/**
 * Rows of the three churn sources for every customer, one customer at a time, so callers can
 * stream them. Each customer has its own PRNG stream derived from (seed, customer index):
 * the same options always give the same rows.
 */
export function* generateDemoRows(input: DemoOptions): Generator<CustomerRows> {
  const options = parseDemoOptions(input);
  const end = options.end.getTime();
  const start = end - options.days * dayMs;
  for (let index = 1; index <= options.customers; index++) {
    const rng = new Prng(options.seed, index);
    const id = customerId(index);
    yield {
      customerId: id,
      customer_profiles: profileRows(rng, id, start, end),
      customer_contracts: contractRows(rng, id, start, end),
      orders: orderRows(rng, id, start, end),
    };
  }
}

/** When the row was written: usually minutes after the event, sometimes hours (late data). */
function createdAfter(rng: Prng, eventTs: number, end: number): number {
  const lateness = rng.chance(0.1) ? rng.int(1, 12) * hourMs : rng.int(0, 30) * 60_000;
  return Math.min(eventTs + lateness, end - 1000);
}

function profileRows(rng: Prng, id: string, start: number, end: number): DemoRow[] {
  const rows: DemoRow[] = [];
  const age0 = rng.int(18, 80);
  const tenure0 = rng.int(0, 72);
  let plan: (typeof plans)[number] = rng.pick(plans);
  let charges = cents(rng.int(planCharges[plan][0] * 100, planCharges[plan][1] * 100) / 100);
  const region = rng.chance(0.03) ? null : rng.pick(regions);
  let ts = seconds(start + rng.int(0, 3 * dayMs));
  while (ts < end) {
    const elapsedDays = Math.floor((ts - start) / dayMs);
    if (rng.chance(0.08)) {
      plan = rng.pick(plans);
      charges = cents(rng.int(planCharges[plan][0] * 100, planCharges[plan][1] * 100) / 100);
    }
    const row: DemoRow = {
      customer_id: id,
      age: Math.min(120, age0 + Math.floor(elapsedDays / 365)),
      plan,
      region,
      monthly_charges: rng.chance(0.02) ? null : charges,
      tenure_months: tenure0 + Math.floor(elapsedDays / 30),
      event_ts: ts,
      created_ts: seconds(createdAfter(rng, ts, end)),
    };
    rows.push(row);
    if (rng.chance(0.03)) {
      // A correction for the same event time, written later: exercises the created-time tie-break.
      const correctedCharges = cents(charges + rng.int(-500, 500) / 100);
      rows.push({
        ...row,
        monthly_charges: Math.max(0, correctedCharges),
        created_ts: seconds(
          Math.min((row.created_ts as number) + rng.int(1, 6) * hourMs, end - 1000),
        ),
      });
    }
    ts = seconds(ts + rng.int(3, 10) * dayMs + rng.int(0, dayMs - 1));
  }
  return rows;
}

function contractRows(rng: Prng, id: string, start: number, end: number): DemoRow[] {
  const changes = rng.int(1, 3);
  const times = [seconds(start + rng.int(0, Math.max(1, Math.floor((end - start) / 10)) - 1))];
  for (let i = 1; i < changes; i++) times.push(seconds(start + rng.int(0, end - start - 1000)));
  times.sort((a, b) => a - b);
  return times.map((ts) => ({
    customer_id: id,
    contract_type: rng.pick(contractTypes),
    payment_method: rng.chance(0.02) ? null : rng.pick(paymentMethods),
    event_ts: ts,
    created_ts: seconds(createdAfter(rng, ts, end)),
  }));
}

function orderRows(rng: Prng, id: string, start: number, end: number): DemoRow[] {
  if (rng.chance(0.15)) return [];
  const weeks = Math.max(1, Math.round((end - start) / (7 * dayMs)));
  const count = rng.int(1, Math.max(1, Math.round(weeks * rng.next() * 1.5)));
  const times = Array.from({ length: count }, () =>
    seconds(start + rng.int(0, end - start - 1000)),
  ).sort((a, b) => a - b);
  return times.map((ts, seq) => ({
    order_id: `O${id.slice(1)}-${String(seq + 1).padStart(4, '0')}`,
    customer_id: id,
    amount: cents(Math.max(1, Math.exp(rng.next() * 4 + 1.6))),
    category: rng.chance(0.02) ? null : rng.pick(categories),
    event_ts: ts,
    created_ts: seconds(createdAfter(rng, ts, end)),
  }));
}
