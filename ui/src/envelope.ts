/**
 * Turns a square-bi result envelope (the structured content of query_metrics, run_saved_query or
 * compare_periods) into what the chart draws: panels of marks, one panel per metric and currency,
 * plus the facts the answer rests on. Pure data, no DOM, so the rules stay readable in one place.
 */

export type Cell = string | number | boolean | null;

export interface MetricInfo {
  name: string;
  label: string;
  unit?: string | null;
}

/** The shape query_metrics and run_saved_query return (server/results.py QueryMetricsResult). */
export interface QueryEnvelope {
  columns: string[];
  rows: Cell[][];
  row_count: number;
  limit: number;
  limit_hit: boolean;
  metrics: MetricInfo[];
  group_by: string[];
  currencies?: string[];
  time_grain?: string | null;
  time_zone: string;
  time_range?: string | null;
  start?: string | null;
  end?: string | null;
  data_freshness?: string | null;
  filters?: Array<Record<string, unknown>>;
}

/** The shape compare_periods returns (server/results.py ComparePeriodsResult). */
export interface CompareEnvelope {
  columns: string[];
  rows: Cell[][];
  row_count: number;
  current: Record<string, string>;
  previous: Record<string, string>;
  time_zone: string;
  currencies?: string[];
}

export type ChartKind = "line" | "bars" | "compare";

export interface Mark {
  /** The category or time value on the x axis, as the row has it. */
  label: string;
  /** Which line or bar of a group: a series name, or "current" / "previous" for a comparison. */
  series: string;
  /** The exact value from the row (a decimal string for money), or null when there is none. */
  raw: Cell;
  /** The value as a number, for drawing only; money is displayed from `raw`. */
  value: number | null;
  /** Index of the row the mark comes from. */
  row: number;
}

export interface Panel {
  metric: MetricInfo;
  /** The currency every mark of this panel is in; null for counts and plain numbers. */
  currency: string | null;
  marks: Mark[];
  series: string[];
}

export interface Fact {
  key: string;
  label: string;
  value: string;
  warning?: boolean;
}

export interface ChartModel {
  kind: ChartKind;
  title: string;
  panels: Panel[];
  facts: Fact[];
  columns: string[];
  rows: Cell[][];
  currencies: string[];
  /** Every series of every panel, in first-seen order: one color per series across panels. */
  series: string[];
}

const TIME_PREFIX = "metric_time__";
const CURRENCY = "currency";
const COMPARE_SUFFIXES = ["__current", "__previous", "__delta", "__pct_change"];
export const CURRENT = "current";
export const PREVIOUS = "previous";

export function isCompare(data: unknown): data is CompareEnvelope {
  return isRecord(data) && Array.isArray(data.columns) && isRecord(data.current) && isRecord(data.previous);
}

export function isQuery(data: unknown): data is QueryEnvelope {
  return isRecord(data) && Array.isArray(data.columns) && Array.isArray(data.rows) && Array.isArray(data.metrics);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toNumber(cell: Cell): number | null {
  if (cell === null || typeof cell === "boolean") return null;
  const n = typeof cell === "number" ? cell : Number(cell);
  return Number.isFinite(n) ? n : null;
}

function text(cell: Cell): string {
  return cell === null ? "(none)" : String(cell);
}

/** The per-row currency column ("currency" or "<entity>__currency"), -1 when the answer has one currency. */
export function currencyColumn(columns: string[]): number {
  return columns.findIndex((c) => c === CURRENCY || c.endsWith(`__${CURRENCY}`));
}

/** The currency of a row's money: its currency column, else the answer's only currency. */
export function rowCurrency(row: Cell[], currencyCol: number, currencies: string[] | undefined): string | null {
  if (currencyCol >= 0) return (row[currencyCol] as string | null) ?? null;
  return currencies?.length === 1 ? currencies[0] : null;
}

/** Rows split by currency (money is never drawn on one axis across currencies), keeping row order. */
function byCurrency(
  rows: Cell[][],
  currencyCol: number,
  currencies: string[] | undefined,
  metric: MetricInfo,
): Map<string | null, number[]> {
  const groups = new Map<string | null, number[]>();
  rows.forEach((row, index) => {
    const currency = metric.unit === "money" ? rowCurrency(row, currencyCol, currencies) : null;
    const list = groups.get(currency) ?? [];
    list.push(index);
    groups.set(currency, list);
  });
  return groups;
}

export function queryModel(data: QueryEnvelope): ChartModel {
  const columns = data.columns;
  const currencyCol = currencyColumn(columns);
  const timeCol = columns.findIndex((c) => c.startsWith(TIME_PREFIX));
  const categoryCols = data.group_by
    .map((name) => columns.indexOf(name))
    .filter((i) => i >= 0 && i !== timeCol && i !== currencyCol);
  const kind: ChartKind = timeCol >= 0 ? "line" : "bars";
  const categoryOf = (row: Cell[]): string => categoryCols.map((i) => text(row[i])).join(" · ");

  const panels: Panel[] = [];
  for (const metric of data.metrics) {
    const valueCol = columns.indexOf(metric.name);
    if (valueCol < 0) continue;
    for (const [currency, indexes] of byCurrency(data.rows, currencyCol, data.currencies, metric)) {
      const marks = indexes.map((index): Mark => {
        const row = data.rows[index];
        const label = kind === "line" ? text(row[timeCol]) : categoryCols.length ? categoryOf(row) : "Total";
        const series = kind === "line" && categoryCols.length ? categoryOf(row) : metric.label;
        return { label, series, raw: row[valueCol], value: toNumber(row[valueCol]), row: index };
      });
      panels.push({ metric, currency, marks, series: unique(marks.map((m) => m.series)) });
    }
  }
  return {
    kind,
    title: data.metrics.map((m) => m.label).join(", ") + (data.group_by.length ? ` by ${data.group_by.map(readable).join(", ")}` : ""),
    panels,
    facts: queryFacts(data),
    columns,
    rows: data.rows,
    currencies: data.currencies ?? [],
    series: unique(panels.flatMap((p) => p.series)),
  };
}

export function compareModel(data: CompareEnvelope, known: MetricInfo[]): ChartModel {
  const columns = data.columns;
  const currencyCol = currencyColumn(columns);
  const metricNames = unique(
    columns.filter((c) => c.endsWith("__current")).map((c) => c.slice(0, -"__current".length)),
  );
  const keyCols = columns
    .map((c, i) => [c, i] as const)
    .filter(([, i]) => i !== currencyCol)
    .filter(([c]) => !COMPARE_SUFFIXES.some((s) => c.endsWith(s)))
    .map(([, i]) => i);
  const labelOf = (row: Cell[]): string => (keyCols.length ? keyCols.map((i) => text(row[i])).join(" · ") : "All");

  const panels: Panel[] = [];
  for (const name of metricNames) {
    const metric = known.find((m) => m.name === name) ?? { name, label: name, unit: null };
    const cur = columns.indexOf(`${name}__current`);
    const prev = columns.indexOf(`${name}__previous`);
    for (const [currency, indexes] of byCurrency(data.rows, currencyCol, data.currencies, metric)) {
      const marks: Mark[] = [];
      for (const index of indexes) {
        const row = data.rows[index];
        const label = labelOf(row);
        marks.push({ label, series: CURRENT, raw: row[cur], value: toNumber(row[cur]), row: index });
        marks.push({ label, series: PREVIOUS, raw: row[prev], value: toNumber(row[prev]), row: index });
      }
      panels.push({ metric, currency, marks, series: [CURRENT, PREVIOUS] });
    }
  }
  return {
    kind: "compare",
    title: `${metricNames.map((n) => known.find((m) => m.name === n)?.label ?? n).join(", ")}: current vs previous`,
    panels,
    facts: compareFacts(data),
    columns,
    rows: data.rows,
    currencies: data.currencies ?? [],
    series: unique(panels.flatMap((p) => p.series)),
  };
}

function period(p: Record<string, string>): string {
  const dates = `${p.start} to ${p.end}`;
  return p.time_range ? `${p.time_range} (${dates})` : dates;
}

function queryFacts(data: QueryEnvelope): Fact[] {
  const facts: Fact[] = [];
  if (data.start || data.end) {
    const dates = `${data.start ?? "…"} to ${data.end ?? "…"}`;
    facts.push({ key: "time-range", label: "Dates", value: data.time_range ? `${data.time_range} (${dates})` : dates });
  } else {
    facts.push({ key: "time-range", label: "Dates", value: "all dates" });
  }
  if (data.filters?.length) facts.push({ key: "filters", label: "Where", value: data.filters.map(filterText).join("; ") });
  facts.push({ key: "grain", label: "Grain", value: data.time_grain ?? "none" });
  facts.push({ key: "time-zone", label: "Time zone", value: data.time_zone });
  facts.push({ key: "rows", label: "Rows", value: String(data.row_count) });
  if (data.currencies?.length) facts.push({ key: "currencies", label: "Currency", value: data.currencies.join(", ") });
  facts.push({
    key: "limit-hit",
    label: "limit_hit",
    value: data.limit_hit
      ? `yes: only the first ${data.row_count} rows (limit ${data.limit}); do not add them up into a total`
      : "no",
    warning: data.limit_hit,
  });
  if (data.data_freshness) facts.push({ key: "freshness", label: "Data as of", value: data.data_freshness });
  return facts;
}

/** {dimension, op, value | values} as "location name = Mission". */
function filterText(filter: Record<string, unknown>): string {
  const values = Array.isArray(filter.values) ? `(${filter.values.map(String).join(", ")})` : "";
  const value = "value" in filter ? String(filter.value) : values;
  return `${readable(String(filter.dimension ?? ""))} ${String(filter.op ?? "")} ${value}`.trim();
}

function compareFacts(data: CompareEnvelope): Fact[] {
  const facts: Fact[] = [
    { key: "current", label: "Current", value: period(data.current) },
    { key: "previous", label: "Previous", value: period(data.previous) },
    { key: "time-zone", label: "Time zone", value: data.time_zone },
    { key: "rows", label: "Rows", value: String(data.row_count) },
  ];
  if (data.currencies?.length) facts.push({ key: "currencies", label: "Currency", value: data.currencies.join(", ") });
  return facts;
}

/** A group-by name as a reader says it: metric_time__week -> "week", item__category -> "item category". */
export function readable(name: string): string {
  return name.startsWith(TIME_PREFIX) ? name.slice(TIME_PREFIX.length) : name.split("__").join(" ").replaceAll("_", " ");
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
