/**
 * How values read: money in its own currency (from the exact decimal string, never a float round
 * trip), counts as whole numbers, other numbers with up to two decimals.
 */
import type { Cell, MetricInfo } from "./envelope";

const cache = new Map<string, Intl.NumberFormat>();

function formatter(key: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(undefined, options);
    cache.set(key, f);
  }
  return f;
}

function options(metric: MetricInfo, currency: string | null, compact: boolean): [string, Intl.NumberFormatOptions] {
  const notation = compact ? "compact" : "standard";
  if (metric.unit === "money" && currency) {
    return [`money:${currency}:${notation}`, { style: "currency", currency, notation }];
  }
  if (metric.unit === "count") return [`count:${notation}`, { maximumFractionDigits: 0, notation }];
  return [`number:${notation}`, { maximumFractionDigits: 2, notation }];
}

/** A value for a label or table cell; decimal strings are formatted exactly (Intl accepts them). */
export function formatValue(value: Cell, metric: MetricInfo, currency: string | null): string {
  if (value === null || value === "") return "–";
  if (typeof value === "boolean") return String(value);
  const [key, opts] = options(metric, currency, false);
  return formatter(key, opts).format(value as Intl.StringNumericLiteral);
}

/** A short axis tick, e.g. "$1.2K". */
export function formatTick(value: number, metric: MetricInfo, currency: string | null): string {
  const [key, opts] = options(metric, currency, Math.abs(value) >= 10000);
  const whole = Number.isInteger(value) ? { minimumFractionDigits: 0, maximumFractionDigits: 0 } : {};
  return formatter(`tick:${key}:${Number.isInteger(value)}`, { ...opts, ...whole }).format(value);
}

export function unitLabel(metric: MetricInfo, currency: string | null): string {
  if (metric.unit === "money") return currency ?? "money";
  return metric.unit ?? "number";
}
