"""Errors of the semantic layer, all under :class:`square_bi.errors.SemanticError`.

::

    SemanticError
    ├── SemanticYamlError      the YAML in semantic/ is wrong: fix the file and line named
    └── SemanticQueryError     a metric query is wrong: fix the query and ask again
        ├── UnknownNameError       a metric / dimension / order-by name is not declared
        └── UnsupportedQueryError  valid YAML, but this compiler cannot answer it (yet)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from square_bi.errors import SemanticError, did_you_mean

__all__ = [
    "SemanticQueryError",
    "SemanticYamlError",
    "UnknownNameError",
    "UnsupportedQueryError",
    "YamlIssue",
]


@dataclass(frozen=True)
class YamlIssue:
    """One problem in one semantic YAML file, at a line when it is known."""

    file: Path | None
    line: int | None
    message: str

    def __str__(self) -> str:
        where = str(self.file) if self.file is not None else "semantic YAML"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


class SemanticYamlError(SemanticError):
    """The semantic YAML does not parse or validate; ``issues`` says where and why."""

    def __init__(self, issues: Sequence[YamlIssue]) -> None:
        self.issues: tuple[YamlIssue, ...] = tuple(issues)
        count = len(self.issues)
        head = f"Semantic YAML is invalid ({count} problem{'s' if count != 1 else ''}): "
        super().__init__(head + " | ".join(str(issue) for issue in self.issues))


class SemanticQueryError(SemanticError):
    """A metric query cannot be compiled as asked."""


class UnknownNameError(SemanticQueryError):
    """A name in a query is not declared; the message lists the valid names and the nearest ones."""

    def __init__(self, name: str, valid: Iterable[str], *, kind: str, hint: str = "") -> None:
        self.name = name
        self.kind = kind
        self.valid: tuple[str, ...] = tuple(sorted(set(valid)))
        message = did_you_mean(name, self.valid, kind=kind)
        super().__init__(f"{message} {hint}".rstrip())


class UnsupportedQueryError(SemanticQueryError):
    """The YAML declares it, but this version of the compiler cannot answer it."""
