"""Demo merchant at scale: time to start serving and memory, each size measured in a fresh subprocess.

    uv run python bench/bench_demo.py [--line-items 1000000] [--small 250000] [--days 365]

Issue target: a merchant with 1M line items starts serving in under 60 s, with memory proportional to
what it serves, not to the history. For each size (``--small`` then ``--line-items``) a child process
generates the merchant, builds the app, starts the HTTP server and sends a first orders search; it
reports the seconds to generate, the seconds until the first answer (generation included: what a user
of ``square-bi emulator`` waits), the process's CPU time until then (the machine may be shared), the
RSS while serving and the peak RSS. The last line compares the serving RSS of the two sizes: a ratio
near the ratio of line items means memory grows with history.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = """
import json, sys, time
import httpx
from square_bi.square.demo import DemoConfig, DemoServer, generate

def rss_mb(field="VmRSS:"):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0

days, per_day = int(sys.argv[1]), int(sys.argv[2])
started = time.perf_counter()
data = generate(DemoConfig(days=days, orders_per_day=per_day))
generated = time.perf_counter() - started
server = DemoServer(data, "bench-token").start()
response = httpx.post(
    server.base_url + "/v2/orders/search",
    headers={"Authorization": "Bearer bench-token"},
    json={"location_ids": [loc["id"] for loc in data.locations][:10], "limit": 100},
    timeout=60,
)
serving = time.perf_counter() - started
cpu = time.process_time()
assert response.status_code == 200 and len(response.json()["orders"]) == 100, response.text[:200]
lines = sum(len(order.get("line_items", ())) for order in data.orders)
print(json.dumps({
    "orders": len(data.orders), "lines": lines, "payments": len(data.payments),
    "generate_s": generated, "serving_s": serving, "cpu_s": cpu, "serving_rss_mb": rss_mb(),
    "peak_rss_mb": rss_mb("VmHWM:"),
}))
server.stop()
"""


def measure(line_items: int, days: int) -> dict[str, float]:
    """Run one size in a child process; its numbers, including its peak RSS (MB) from its own
    ``VmHWM`` (``wait4``'s ``ru_maxrss`` would carry this process's high-water mark into it)."""
    per_day = max(1, round(line_items / 1.88 / days))  # about 1.88 lines per order
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(days), str(per_day)], stdout=subprocess.PIPE, text=True
    )
    output, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"the demo merchant failed for {line_items:,} line items")
    result: dict[str, float] = json.loads(output)
    return result


def report(result: dict[str, float], days: int) -> None:
    lines = result["lines"]
    serving, peak = result["serving_rss_mb"], result["peak_rss_mb"]
    print(f"{result['orders']:,.0f} orders, {lines:,.0f} line items, {result['payments']:,.0f} payments, {days} days")
    print(f"  generated in {result['generate_s']:.1f} s, first answer after {result['serving_s']:.1f} s (goal < 60 s)")
    print(f"  CPU time until the first answer {result['cpu_s']:.1f} s (less sensitive to other load on the machine)")
    print(
        f"  RSS while serving {serving:,.0f} MB ({serving / lines * 1000:.2f} MB per 1,000 line items), "
        f"peak {peak:,.0f} MB ({peak / lines * 1000:.2f} MB per 1,000 line items)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--line-items", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=250_000, help="the smaller size to compare memory with")
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    small = measure(args.small, args.days)
    report(small, args.days)
    large = measure(args.line_items, args.days)
    report(large, args.days)
    print(
        f"line items x{large['lines'] / small['lines']:.2f} -> serving RSS x"
        f"{large['serving_rss_mb'] / small['serving_rss_mb']:.2f}, peak RSS x"
        f"{large['peak_rss_mb'] / small['peak_rss_mb']:.2f}"
    )


if __name__ == "__main__":
    main()
