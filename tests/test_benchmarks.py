"""Every benchmark in bench/ still runs to its ratios at a tiny size.

Benchmarks are not timed here (their numbers mean something only at full size, on a quiet
machine); this only proves that a change elsewhere has not broken them, as once happened when
the demo merchant's orders stopped being a plain list.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

TINY_RUNS = {
    "bench_demo.py": (["--line-items", "4000", "--small", "2000", "--days", "5"], "line items x"),
    "bench_sync.py": (["--days", "2", "--orders-per-day", "20"], "ratio sync / native"),
    "bench_backfill.py": (
        [
            "--orders",
            "600",
            "--days",
            "6",
            "--latency-ms",
            "1",
            "--page-sizes",
            "50,100",
            "--growth",
            "--growth-line-items",
            "600,1200",
        ],
        "growth (page size 100",  # after every page size's block; the bench exits 1 if native tables differ
    ),
    "bench_star.py": (["--line-items", "20000"], "star build"),
    "bench_semantic.py": (["--rows", "20000", "--repeat", "1"], "execution ours / hand-written"),
    "bench_mcp.py": (["--calls", "5"], "p50"),
    "bench_webhooks.py": (["--rounds", "1", "--days", "1"], "burst:"),
}


def test_every_benchmark_has_a_tiny_run() -> None:
    assert sorted(TINY_RUNS) == sorted(path.name for path in BENCH.glob("bench_*.py"))


@pytest.mark.parametrize("script", sorted(TINY_RUNS))
def test_the_benchmark_runs_to_its_ratios_at_a_tiny_size(script: str) -> None:
    arguments, marker = TINY_RUNS[script]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQUARE_", "SQUARE_BI_"))}
    completed = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments],
        cwd=BENCH.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert marker in completed.stdout, completed.stdout[-3000:]
