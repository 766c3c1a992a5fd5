"""``square-bi query``: the MCP tool's compiler and envelope, from the shell."""

from __future__ import annotations

import json
from pathlib import Path

from square_bi.semantic import default_semantic_dir, load_semantic_layer
from square_bi.server import service
from square_bi.server.results import markdown_table


def run_query_command(
    db: Path,
    *,
    metrics: list[str],
    group_by: list[str],
    order_by: list[str],
    limit: int | None,
    output: str,
) -> int:
    layer = load_semantic_layer(default_semantic_dir())
    result = service.query_metrics(db, layer, metrics=metrics, group_by=group_by, order_by=order_by, limit=limit)
    if output == "json":
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return 0
    print(markdown_table(result.columns, result.rows, max_rows=result.limit))
    notes = [f"{result.row_count} row(s)"]
    if result.currencies:
        notes.append("money in " + ", ".join(result.currencies))
    if result.limit_hit:
        notes.append(f"limit hit: more than {result.limit} rows exist")
    print("(" + "; ".join(notes) + ")")
    return 0
