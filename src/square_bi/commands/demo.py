"""``square-bi demo``: the whole product on the built-in demo merchant, in one command."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from square_bi.commands.emulator import demo_config
from square_bi.commands.sync import format_sync_result
from square_bi.config import DEMO_TOKEN, load_settings
from square_bi.semantic import default_semantic_dir, load_semantic_layer
from square_bi.server import service
from square_bi.server.results import markdown_table
from square_bi.warehouse.sync import sync_warehouse


def run_demo(args: argparse.Namespace) -> int:
    from square_bi.square.demo import DemoServer, generate

    db: Path = args.db
    started = time.perf_counter()
    config = demo_config(args)
    data = generate(config)
    print(
        f"Demo merchant: {data.business_name}, {len(data.locations)} locations, "
        f"{len(data.orders):,} orders over {config.days} days.",
        file=sys.stderr,
    )
    layer = load_semantic_layer(default_semantic_dir())
    with DemoServer(data, access_token=DEMO_TOKEN) as server:
        print(f"Serving it on {server.base_url}; syncing into {db} ...", file=sys.stderr)
        settings = load_settings(SQUARE_ACCESS_TOKEN=DEMO_TOKEN, SQUARE_BASE_URL=server.base_url)
        result = asyncio.run(sync_warehouse(settings, db, full_refresh=True))
    for line in format_sync_result(result):
        print(line, file=sys.stderr)
    if not result.report.ok:
        for name, error in result.report.failed.items():
            print(f"square-bi: error: stream {name} failed: {error}", file=sys.stderr)
        return 1

    answer = service.query_metrics(
        db,
        layer,
        metrics=["gross_sales", "order_count"],
        group_by=["metric_time__week", "location__name"],
        order_by=["metric_time__week", "location__name"],
        limit=service.MAX_LIMIT,
    )
    currencies = ", ".join(answer.currencies) or "the locations' currencies"
    print(f"\nGross sales by week and location (major units, {currencies}; weeks start Monday):\n")
    print(markdown_table(answer.columns, answer.rows, max_rows=answer.limit))
    elapsed = time.perf_counter() - started
    absolute = db.resolve()
    print(
        f"\nDone in {elapsed:.1f} s. The warehouse is {absolute}.\n\n"
        "Ask Claude about it:\n"
        "  Claude Code:    claude mcp add square-bi -- "
        f"uv run --directory {Path.cwd()} square-bi serve --db {absolute}\n"
        "  Claude Desktop: copy claude_desktop_config.example.json into Claude Desktop's config, with\n"
        f"                  the args' paths set to {Path.cwd()} and {absolute}\n"
        f"  From the shell: uv run square-bi query --db {db} --metrics gross_sales --group-by location__name"
    )
    return 0
