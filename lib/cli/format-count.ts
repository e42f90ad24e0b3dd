/**
 * `count.toLocaleString('en-US')` for whole numbers (1,234,567) without Intl: the first
 * toLocaleString of a process sets up ICU's number formatting, 13-17 ms CPU, a noticeable part
 * of a 10-row training set. Other numbers are left to toLocaleString.
 */
export function formatCount(count: number): string {
  if (!Number.isSafeInteger(count) || Object.is(count, -0)) return count.toLocaleString('en-US');
  const digits = String(Math.abs(count)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return count < 0 ? `-${digits}` : digits;
}
