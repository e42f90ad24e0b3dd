/** `churn_online` → `ChurnOnline`, for construct ids derived from definition names. */
export function pascal(name: string): string {
  return name.replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}
