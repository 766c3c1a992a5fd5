/**
 * The MCP App: connects to the host with the official ext-apps client, waits for the tool result
 * the host forwards (ui/notifications/tool-result) and draws it. It fetches nothing: everything it
 * shows comes from that result.
 */
import { App, applyDocumentTheme, applyHostStyleVariables } from "@modelcontextprotocol/ext-apps";

import { compareModel, isCompare, isQuery, type MetricInfo, queryModel } from "./envelope";
import "./styles.css";
import { render, renderMessage } from "./view";

/** Metric labels and units the server adds to a compare_periods result for Apps clients. */
const METRICS_META_KEY = "square-bi/metrics";

type ToolResult = {
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  _meta?: Record<string, unknown>;
};

const root = document.getElementById("app") as HTMLElement;

export function show(result: ToolResult): void {
  const data = result.structuredContent;
  if (result.isError || !data) {
    const text = (result.content ?? []).map((c) => c.text ?? "").join("\n");
    renderMessage(root, "error", text || "The tool returned no data to draw.");
    return;
  }
  const known = (result._meta?.[METRICS_META_KEY] as MetricInfo[] | undefined) ?? [];
  if (isCompare(data)) {
    render(root, compareModel(data, known), known);
  } else if (isQuery(data)) {
    render(root, queryModel(data), data.metrics);
  } else {
    renderMessage(root, "error", "This result has no rows to draw.");
  }
}

const app = new App({ name: "square-bi chart", version: "1.0.0" }, {}, { autoResize: true });
app.ontoolresult = (result) => show(result as ToolResult);
app.onhostcontextchanged = (context) => {
  if (context.theme) applyDocumentTheme(context.theme);
  if (context.styles?.variables) applyHostStyleVariables(context.styles.variables);
};
app
  .connect()
  .then(() => {
    const context = app.getHostContext();
    if (context?.theme) applyDocumentTheme(context.theme);
    if (context?.styles?.variables) applyHostStyleVariables(context.styles.variables);
  })
  .catch((error: unknown) => renderMessage(root, "error", `Could not connect to the host: ${String(error)}`));
