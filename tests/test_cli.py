"""The ``square-bi`` command as a user runs it: a subprocess, its exit code, stdout and stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shop_support import DEMO_TOKEN, free_port
from square_bi.square.demo import DemoServer


def square_bi(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SQUARE_", "SQUARE_BI_"))}
    return subprocess.run(
        [sys.executable, "-m", "square_bi.cli", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=timeout,
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("square-bi: error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def test_sync_without_a_token_names_the_variable_to_set(tmp_path: Path) -> None:
    done = square_bi("sync", "--db", str(tmp_path / "x.duckdb"))
    assert "SQUARE_ACCESS_TOKEN" in assert_one_line_error(done)


def test_sync_with_a_wrong_token_names_the_variable_and_never_prints_the_token(
    shop: DemoServer, tmp_path: Path
) -> None:
    secret = "sq0atp-this-is-not-the-demo-token"
    done = square_bi(
        "sync", "--db", str(tmp_path / "x.duckdb"), "--base-url", shop.base_url, env={"SQUARE_ACCESS_TOKEN": secret}
    )
    line = assert_one_line_error(done)
    assert "SQUARE_ACCESS_TOKEN" in line
    assert secret not in done.stderr + done.stdout


def test_sync_to_an_unreachable_base_url_fails_with_a_clear_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = square_bi(
        "sync",
        "--db",
        str(tmp_path / "x.duckdb"),
        "--base-url",
        url,
        env={"SQUARE_ACCESS_TOKEN": DEMO_TOKEN, "SQUARE_BI_MAX_ATTEMPTS": "2"},
    )
    line = assert_one_line_error(done)
    assert "could not reach" in line and url in line


def test_query_with_an_unknown_metric_lists_the_valid_ones(shop_db: Path) -> None:
    done = square_bi("query", "--db", str(shop_db), "--metrics", "gross_salez")
    line = assert_one_line_error(done)
    assert "gross_salez" in line and "gross_sales" in line


def test_query_prints_json_with_columns_and_rows(shop_db: Path) -> None:
    import json

    done = square_bi("query", "--db", str(shop_db), "--metrics", "order_count", "--format", "json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["columns"] == ["order_count"]
    assert int(payload["rows"][0][0]) > 0


def test_query_on_a_missing_database_says_how_to_create_it(tmp_path: Path) -> None:
    done = square_bi("query", "--db", str(tmp_path / "none.duckdb"), "--metrics", "gross_sales")
    assert "square-bi sync" in assert_one_line_error(done)


def test_sync_then_status_reports_every_stream(shop: DemoServer, tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    env = {"SQUARE_ACCESS_TOKEN": DEMO_TOKEN}
    synced = square_bi("sync", "--db", str(db), "--base-url", shop.base_url, env=env)
    assert synced.returncode == 0, synced.stderr
    status = square_bi("status", "--db", str(db))
    assert status.returncode == 0, status.stderr
    for stream in ("locations", "catalog", "orders"):
        assert stream in status.stdout


def test_demo_runs_end_to_end_and_prints_gross_sales_by_week_and_location(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    done = square_bi("demo", "--db", str(db), "--days", "15", "--orders-per-day", "40")
    assert done.returncode == 0, done.stderr
    assert "metric_time__week" in done.stdout and "location__name" in done.stdout
    assert "claude mcp add" in done.stdout
    assert db.exists()


def test_emulator_help_documents_every_flag() -> None:
    done = square_bi("emulator", "--help")
    for flag in ("--host", "--port", "--seed", "--days", "--locations", "--orders-per-day", "--access-token"):
        assert flag in done.stdout
