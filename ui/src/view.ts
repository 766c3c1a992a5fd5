/**
 * The page around the charts: title, the facts the numbers rest on (dates, grain, time zone,
 * limit_hit), one titled panel per metric and currency with its legend, and a table toggle
 * showing the rows exactly as the tool returned them.
 */
import { drawPanel, seriesColor } from "./chart";
import { type Cell, type ChartModel, currencyColumn, type MetricInfo, type Panel, rowCurrency } from "./envelope";
import { formatValue } from "./format";

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function facts(model: ChartModel): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    ...model.facts.map((fact) =>
      h(
        "div",
        { class: fact.warning ? "fact warning" : "fact", "data-fact": fact.key },
        h("dt", {}, fact.label),
        h("dd", {}, fact.value),
      ),
    ),
  );
}

function legend(panel: Panel, colorOf: (series: string) => string): HTMLElement {
  return h(
    "ul",
    { class: "legend" },
    ...panel.series.map((series) =>
      h("li", {}, h("span", { class: "swatch", style: `background:${colorOf(series)}` }), series),
    ),
  );
}

function panelFigure(panel: Panel, model: ChartModel): HTMLElement {
  const caption = `${panel.metric.label}${panel.currency ? ` (${panel.currency})` : ""}`;
  const colorOf = (series: string): string => seriesColor(series, model.series.indexOf(series));
  const showLegend = panel.series.some((series) => series !== panel.metric.label);
  return h(
    "figure",
    { class: "panel", "data-metric": panel.metric.name },
    h("figcaption", {}, caption),
    ...(showLegend ? [legend(panel, colorOf)] : []),
    drawPanel(panel, model.kind, colorOf),
  );
}

function table(model: ChartModel, metrics: MetricInfo[]): HTMLElement {
  const currencyCol = currencyColumn(model.columns);
  const metricOf = (column: string): MetricInfo | undefined =>
    metrics.find((m) => column === m.name || (column.startsWith(`${m.name}__`) && !column.endsWith("__pct_change")));
  const cell = (value: Cell, column: string, row: Cell[]): string => {
    const metric = metricOf(column);
    if (!metric) return value === null ? "–" : String(value);
    const currency = metric.unit === "money" ? rowCurrency(row, currencyCol, model.currencies) : null;
    return formatValue(value, metric, currency);
  };
  return h(
    "table",
    { class: "data-table" },
    h("thead", {}, h("tr", {}, ...model.columns.map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      ...model.rows.map((row) =>
        h("tr", {}, ...row.map((value, i) => h("td", {}, cell(value, model.columns[i], row)))),
      ),
    ),
  );
}

export function render(root: HTMLElement, model: ChartModel, metrics: MetricInfo[]): void {
  const charts = h("section", { class: "charts" }, ...model.panels.map((p) => panelFigure(p, model)));
  if (!model.rows.length) charts.append(h("p", { class: "empty" }, "No rows for these filters and dates."));
  const rows = h("section", { class: "table", hidden: "" }, table(model, metrics));
  const toggle = h("button", { type: "button", class: "toggle", "aria-pressed": "false" }, "Show table");
  toggle.addEventListener("click", () => {
    const showTable = rows.hidden;
    rows.hidden = !showTable;
    charts.hidden = showTable;
    toggle.textContent = showTable ? "Show chart" : "Show table";
    toggle.setAttribute("aria-pressed", String(showTable));
  });
  root.replaceChildren(
    h("header", {}, h("h1", {}, model.title), toggle),
    facts(model),
    charts,
    rows,
  );
  root.dataset.state = "rendered";
  root.dataset.kind = model.kind;
}

export function renderMessage(root: HTMLElement, state: string, message: string): void {
  root.replaceChildren(h("p", { class: state }, message));
  root.dataset.state = state;
}
