"""Demo merchant generation at scale: time and peak memory, measured in a fresh subprocess.

    uv run python bench/bench_demo.py [--line-items 1000000] [--days 365]

Issue target: a merchant with 1M line items starts serving in under 60 s, with memory proportional to
what it serves. Prints orders, line items, seconds to generate and peak RSS (MB), and RSS per
1,000 line items.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = """
import json, sys, time
from square_bi.square.demo import DemoConfig, generate
days, per_day = int(sys.argv[1]), int(sys.argv[2])
started = time.perf_counter()
data = generate(DemoConfig(days=days, orders_per_day=per_day))
seconds = time.perf_counter() - started
lines = sum(len(o.get("line_items", [])) for o in data.orders)
print(json.dumps({"orders": len(data.orders), "lines": lines, "seconds": seconds}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--line-items", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    per_day = max(1, round(args.line_items / 1.88 / args.days))  # about 1.88 lines per order
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(args.days), str(per_day)], stdout=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    assert process.stdout is not None
    result = json.loads(process.stdout.read())
    if status != 0:
        raise SystemExit("generation failed")
    rss_mb = usage.ru_maxrss / 1024
    print(f"{result['orders']:,} orders, {result['lines']:,} line items over {args.days} days")
    print(f"generated in {result['seconds']:.1f} s (target < 60 s to start serving)")
    print(f"peak RSS {rss_mb:,.0f} MB = {rss_mb / result['lines'] * 1000:.2f} MB per 1,000 line items")


if __name__ == "__main__":
    main()
