"""The semantic catalogue as markdown (an MCP resource a client can show or read)."""

from __future__ import annotations

from square_bi.semantic import SemanticLayer
from square_bi.server.explore import get_dimensions
from square_bi.server.time_ranges import DESCRIPTIONS


def catalogue_markdown(layer: SemanticLayer) -> str:
    lines = ["# Metrics", ""]
    for metric in layer.metrics.values():
        synonyms = f" (also: {', '.join(metric.synonyms)})" if metric.synonyms else ""
        description = " ".join((metric.description or "").split())
        lines.append(f"- **{metric.name}**: {metric.label}{synonyms}. {description}")
    lines += ["", "# Dimensions", ""]
    for info in get_dimensions(layer, [], None).dimensions:
        grains = f" grains: {', '.join(info.grains)}" if info.grains else ""
        lines.append(f"- **{info.name}** ({info.kind}){grains}")
    lines += ["", "# Time ranges", ""]
    lines += [f"- **{name}**: {text}" for name, text in DESCRIPTIONS.items()]
    return "\n".join(lines) + "\n"
