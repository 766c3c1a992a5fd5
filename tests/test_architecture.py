"""The data's journey flows one way: square -> extract -> warehouse -> semantic -> server."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "square_bi"
STAGES = ["square", "extract", "warehouse", "semantic", "server"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_each_stage_imports_only_the_stages_before_it() -> None:
    violations = []
    for index, stage in enumerate(STAGES):
        later = STAGES[index + 1 :]
        for path in (PACKAGE / stage).rglob("*.py"):
            for module in _imports(path):
                parts = module.split(".")
                if parts[0] == "square_bi" and len(parts) > 1 and parts[1] in later:
                    violations.append(f"{path.relative_to(PACKAGE)} imports {module}")
                if parts[0] == "square_bi" and len(parts) > 1 and parts[1] in ("cli", "commands"):
                    violations.append(f"{path.relative_to(PACKAGE)} imports the CLI layer ({module})")
    assert violations == []


def test_no_stage_reads_the_environment_at_import_time() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if "os.environ" in ast.unparse(node) or "getenv" in ast.unparse(node):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []
