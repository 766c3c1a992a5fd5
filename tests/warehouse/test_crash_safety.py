"""A sync killed with SIGKILL at random moments, then run again, ends equal to one that never died."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from shop_support import DEMO_TOKEN, run_sync
from square_bi.square.demo import DemoServer

TRIALS = 10
TABLES = ("stg_locations", "stg_catalog_objects", "stg_orders", "stg_order_line_items")


def _sync_command(db: Path, base_url: str) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQUARE_")}
    env.update({"SQUARE_ACCESS_TOKEN": DEMO_TOKEN, "SQUARE_BI_ORDERS_PAGE_SIZE": "25"})
    return [sys.executable, "-m", "square_bi.cli", "sync", "--db", str(db), "--base-url", base_url], env


def _snapshot(db: Path) -> dict[str, object]:
    with duckdb.connect(str(db), read_only=True) as con:
        snapshot: dict[str, object] = {
            table: sorted(con.execute(f"SELECT * EXCLUDE (_synced_at) FROM {table}").fetchall(), key=repr)
            if table != "stg_order_line_items"
            else sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in TABLES
        }
        snapshot["duplicates"] = con.execute("SELECT count(*) - count(DISTINCT id) FROM stg_orders").fetchone()
    return snapshot


def test_a_sync_killed_at_random_moments_resumes_to_the_uninterrupted_result(shop: DemoServer, tmp_path: Path) -> None:
    reference = tmp_path / "reference.duckdb"
    command, env = _sync_command(reference, shop.base_url)
    started = time.monotonic()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    full_run_s = time.monotonic() - started
    expected = _snapshot(reference)

    rng = random.Random(20261127)
    killed = 0
    for trial in range(TRIALS):
        db = tmp_path / f"killed-{trial}.duckdb"
        command, env = _sync_command(db, shop.base_url)
        with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as victim:
            try:
                victim.wait(timeout=rng.uniform(0.2, full_run_s))
            except subprocess.TimeoutExpired:
                victim.send_signal(signal.SIGKILL)
                victim.wait(timeout=10)
                killed += 1
        rerun = run_sync(shop.base_url, db)
        assert rerun.report.ok, rerun.report.failed
        assert _snapshot(db) == expected, f"trial {trial} differs from the uninterrupted sync"
    assert killed >= TRIALS // 2, "most trials must really interrupt the sync"
