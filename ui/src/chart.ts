/**
 * Draws one panel (one metric, one currency) as SVG. Every mark is a DOM element carrying
 * data-label, data-value (the exact value from the row), data-series and data-row, so a test or a
 * screen reader can read the chart back; the drawing itself uses d3 scales and the line shape.
 */
import { scaleBand, scaleLinear, scalePoint } from "d3-scale";
import { line } from "d3-shape";

import type { ChartKind, Mark, Panel } from "./envelope";
import { formatTick, formatValue, unitLabel } from "./format";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 280;
const MARGIN = { top: 24, right: 16, bottom: 64, left: 72 };
const PALETTE = ["#2f6fdf", "#e8833a", "#3aa676", "#b8509c", "#8a6d3b", "#5a5a5a", "#c44e52", "#17a2b8"];
export const SERIES_COLORS: Record<string, string> = { current: "#2f6fdf", previous: "#a9b8cf" };

type Attrs = Record<string, string | number>;

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, parent?: Element): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  parent?.appendChild(node);
  return node;
}

/** A series' color: fixed for current/previous, else by its place among all series of the answer. */
export function seriesColor(series: string, index: number): string {
  return SERIES_COLORS[series] ?? PALETTE[index % PALETTE.length];
}

function markAttrs(mark: Mark, kind: string): Attrs {
  return {
    class: `mark ${kind}`,
    "data-label": mark.label,
    "data-value": mark.raw === null ? "" : String(mark.raw),
    "data-series": mark.series,
    "data-row": mark.row,
    ...(mark.value === null ? { "data-missing": "true" } : {}),
  };
}

function tooltip(node: Element, mark: Mark, panel: Panel): void {
  el("title", {}, node).textContent =
    `${mark.label} · ${mark.series}: ${formatValue(mark.raw, panel.metric, panel.currency)}`;
}

function valueScale(panel: Panel) {
  const values = panel.marks.map((m) => m.value).filter((v): v is number => v !== null);
  const low = Math.min(0, ...values);
  const high = Math.max(0, ...values);
  return scaleLinear()
    .domain([low, high === low ? low + 1 : high])
    .nice(5)
    .range([HEIGHT - MARGIN.bottom, MARGIN.top]);
}

function yAxis(svg: SVGSVGElement, y: ReturnType<typeof valueScale>, panel: Panel): void {
  const axis = el("g", { class: "axis y-axis" }, svg);
  for (const tick of y.ticks(5)) {
    const at = y(tick);
    el("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: at, y2: at, class: "grid" }, axis);
    const label = el("text", { x: MARGIN.left - 8, y: at, dy: "0.32em", "text-anchor": "end" }, axis);
    label.textContent = formatTick(tick, panel.metric, panel.currency);
  }
  const unit = el("text", { x: 4, y: 10, class: "unit", "text-anchor": "start" }, axis);
  unit.textContent = unitLabel(panel.metric, panel.currency);
}

function xLabels(svg: SVGSVGElement, ticks: Array<{ at: number; text: string }>): void {
  const axis = el("g", { class: "axis x-axis" }, svg);
  const step = Math.max(1, Math.ceil(ticks.length / 14));
  const rotate = ticks.length > 6 || ticks.some((t) => t.text.length >= 10);
  ticks.forEach((tick, i) => {
    if (i % step !== 0) return;
    const y = HEIGHT - MARGIN.bottom + 14;
    const label = el(
      "text",
      rotate
        ? { x: tick.at, y, "text-anchor": "end", transform: `rotate(-35 ${tick.at} ${y})` }
        : { x: tick.at, y, "text-anchor": "middle" },
      axis,
    );
    label.textContent = tick.text.length > 22 ? `${tick.text.slice(0, 21)}…` : tick.text;
  });
}

type ColorOf = (series: string) => string;

function drawLine(svg: SVGSVGElement, panel: Panel, colorOf: ColorOf): void {
  const labels = [...new Set(panel.marks.map((m) => m.label))].sort();
  const x = scalePoint<string>().domain(labels).range([MARGIN.left + 12, WIDTH - MARGIN.right - 12]);
  const y = valueScale(panel);
  yAxis(svg, y, panel);
  xLabels(svg, labels.map((label) => ({ at: x(label) ?? 0, text: label })));
  const path = line<Mark>()
    .defined((m) => m.value !== null)
    .x((m) => x(m.label) ?? 0)
    .y((m) => y(m.value ?? 0));
  panel.series.forEach((series) => {
    const points = panel.marks.filter((m) => m.series === series).sort((a, b) => a.label.localeCompare(b.label));
    el("path", { class: "series-line", d: path(points) ?? "", stroke: colorOf(series), "data-series": series }, svg);
  });
  const layer = el("g", { class: "marks" }, svg);
  for (const mark of panel.marks) {
    const color = colorOf(mark.series);
    const cy = mark.value === null ? y(0) : y(mark.value);
    const dot = el("circle", { ...markAttrs(mark, "point"), cx: x(mark.label) ?? 0, cy, r: mark.value === null ? 0 : 3.5, fill: color }, layer);
    tooltip(dot, mark, panel);
  }
}

function drawBars(svg: SVGSVGElement, panel: Panel, grouped: boolean, colorOf: ColorOf): void {
  const groups = grouped ? [...new Set(panel.marks.map((m) => `${m.row}`))] : panel.marks.map((_, i) => `${i}`);
  const labelOf = new Map<string, string>();
  panel.marks.forEach((m, i) => labelOf.set(grouped ? `${m.row}` : `${i}`, m.label));
  const x = scaleBand<string>().domain(groups).range([MARGIN.left, WIDTH - MARGIN.right]).padding(0.2);
  const inner = scaleBand<string>().domain(panel.series).range([0, x.bandwidth()]).padding(0.06);
  const y = valueScale(panel);
  yAxis(svg, y, panel);
  xLabels(svg, groups.map((g) => ({ at: (x(g) ?? 0) + x.bandwidth() / 2, text: labelOf.get(g) ?? "" })));
  const layer = el("g", { class: "marks" }, svg);
  panel.marks.forEach((mark, i) => {
    const group = grouped ? `${mark.row}` : `${i}`;
    const left = (x(group) ?? 0) + (grouped ? (inner(mark.series) ?? 0) : 0);
    const width = grouped ? inner.bandwidth() : x.bandwidth();
    const value = mark.value ?? 0;
    const top = Math.min(y(value), y(0));
    const color = colorOf(mark.series);
    const bar = el(
      "rect",
      { ...markAttrs(mark, "bar"), x: left, y: top, width, height: Math.abs(y(value) - y(0)), fill: color },
      layer,
    );
    tooltip(bar, mark, panel);
  });
  el("line", { class: "baseline", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0) }, svg);
}

/** One panel's SVG; `kind` picks a line (time grain), bars (category) or grouped bars (comparison). */
export function drawPanel(panel: Panel, kind: ChartKind, colorOf: ColorOf): SVGSVGElement {
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    class: `chart chart-${kind}`,
    "data-kind": kind,
    "data-metric": panel.metric.name,
    "data-currency": panel.currency ?? "",
  });
  el("title", {}, svg).textContent = `${panel.metric.label}${panel.currency ? ` (${panel.currency})` : ""}`;
  if (kind === "line") drawLine(svg, panel, colorOf);
  else drawBars(svg, panel, kind === "compare", colorOf);
  return svg;
}
