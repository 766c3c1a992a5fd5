"""The chart MCP App: one self-contained HTML page (built from ui/ and shipped in the package) that
MCP Apps hosts render next to query_metrics, run_saved_query and compare_periods results.

The page fetches nothing and declares no CSP domains: everything it draws comes from the tool
result the host hands it. Clients without Apps support never see it; their results are unchanged.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps

from square_bi.semantic import SemanticLayer

CHART_URI = "ui://square-bi/chart.html"
"""The ``ui://`` resource the chart-capable tools point their ``_meta.ui.resourceUri`` at."""

METRICS_META_KEY = "square-bi/metrics"
"""Result ``_meta`` key carrying metric labels and units for the chart (compare_periods' envelope
has only column names), sent only to clients that negotiated Apps."""

_SOURCE_HASH = re.compile(r'<meta name="square-bi-source-hash" content="([0-9a-f]{64})"')


@cache
def chart_app_html() -> str:
    """The built page (ui/build.sh writes it); read once per process."""
    return (files("square_bi.server") / "ui" / "chart_app.html").read_text(encoding="utf-8")


def built_source_hash(html: str) -> str | None:
    """The hash of ui/ sources the page was built from, as stamped by the build."""
    match = _SOURCE_HASH.search(html)
    return match.group(1) if match else None


def chart_apps() -> Apps:
    """The Apps extension with the chart page registered; bind tools with ``@apps.tool(resource_uri=CHART_URI)``."""
    apps = Apps()
    apps.add_html_resource(
        CHART_URI,
        chart_app_html(),
        name="chart",
        title="square-bi chart",
        description="Draws a metric result: a line by time grain, bars by category, grouped bars for a comparison.",
    )
    return apps


def metrics_meta(layer: SemanticLayer, names: list[str]) -> dict[str, Any]:
    """Labels and units of ``names`` for the chart's axes and money formatting."""
    known = [layer.metrics[name] for name in names if name in layer.metrics]
    return {METRICS_META_KEY: [{"name": m.name, "label": m.label, "unit": m.unit} for m in known]}
