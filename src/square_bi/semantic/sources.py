"""Read semantic YAML files keeping the node tree, so any value can be traced back to its line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from square_bi.semantic.errors import SemanticYamlError, YamlIssue

__all__ = ["Origin", "YamlPath", "YamlSource", "read_yaml_sources"]

YamlPath = tuple[str | int, ...]
"""Keys and list indexes from a document's root down to a value, e.g. ``("metrics", 0, "name")``."""

YAML_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class YamlSource:
    """One YAML file: its parsed data and the composed node tree the data came from."""

    path: Path
    data: Any
    node: yaml.Node | None

    def line_at(self, path: YamlPath) -> int | None:
        """1-based line of the deepest node on ``path`` (a key's own line for mapping keys)."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else None
        for step in path:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == step:
                        line = key_node.start_mark.line + 1
                        node = value_node
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line + 1
            else:
                return line
        return line


@dataclass(frozen=True)
class Origin:
    """Where a converted object came from: a file and the path of the object inside it."""

    source: YamlSource
    path: YamlPath

    def line(self, *subpath: str | int) -> int | None:
        return self.source.line_at(self.path + subpath)

    def issue(self, message: str, *subpath: str | int) -> YamlIssue:
        return YamlIssue(self.source.path, self.line(*subpath), message)


def read_yaml_source(path: Path) -> YamlSource:
    """Parse one file (a single YAML document) keeping its node tree."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SemanticYamlError([YamlIssue(path, None, f"cannot be read: {error}")]) from error
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise SemanticYamlError([YamlIssue(path, line, f"is not valid YAML: {problem}")]) from error
    except yaml.YAMLError as error:
        raise SemanticYamlError([YamlIssue(path, None, f"is not valid YAML: {error}")]) from error
    finally:
        loader.dispose()
    return YamlSource(path=path, data=data, node=node)


def read_yaml_sources(directory: Path) -> Sequence[YamlSource]:
    """Every ``*.yml`` / ``*.yaml`` file directly in ``directory`` (hidden files skipped), by name."""
    if not directory.is_dir():
        raise SemanticYamlError([YamlIssue(directory, None, "is not a directory of semantic YAML files")])
    paths = sorted(
        path
        for path in directory.iterdir()
        if path.is_file() and path.suffix in YAML_SUFFIXES and not path.name.startswith(".")
    )
    if not paths:
        raise SemanticYamlError([YamlIssue(directory, None, "holds no *.yml or *.yaml files")])
    return [read_yaml_source(path) for path in paths]
