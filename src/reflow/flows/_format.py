"""The flow document: the seed orchestrator's workflow JSON, also accepted as YAML.

Top level: ``nodes``, ``edges``, optional ``settings`` and ``env``.  A node is
``{id, type, data: {form, config, retry, timeout}}``; an edge is ``{source, target,
sourceHandle}`` whose handle is normalised to a branch key (``default``, ``yes``, ``no``,
``subdag``).  Extra keys (``position``, an edge's ``id``) are accepted and ignored, as the
editor that exports these documents adds them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reflow.flows._errors import FlowFormatError

__all__ = [
    "BRANCH_KEYS",
    "EdgeSpec",
    "FlowSettings",
    "FlowSpec",
    "NodeData",
    "NodeSpec",
    "RetrySpec",
    "normalize_branch",
    "parse_flow_text",
    "read_flow_file",
]

BRANCH_KEYS = ("default", "yes", "no", "subdag")
_MAX_YAML_ALIASES = 100
# The editor labels the loop body "Body"; the seed stores it as "subdag".
_HANDLE_ALIASES = {"": "default", "none": "default", "body": "subdag"}


def normalize_branch(handle: str | None) -> str:
    """``None``/empty -> ``default``; otherwise lowercased (``"Yes"`` -> ``"yes"``)."""
    if handle is None:
        return "default"
    key = handle.strip().lower()
    return _HANDLE_ALIASES.get(key, key)


class RetrySpec(BaseModel):
    """A node-level retry policy: ``attempts`` in all, ``delay`` seconds apart."""

    model_config = ConfigDict(extra="forbid")
    attempts: int = Field(ge=1, le=100, description="Attempts in all, the first included.")
    delay: float = Field(default=0.0, ge=0, le=3600, description="Seconds between attempts.")


class NodeData(BaseModel):
    model_config = ConfigDict(extra="allow")
    form: dict[str, Any] = Field(default_factory=dict, description="Field values; may be Jinja.")
    config: dict[str, Any] = Field(default_factory=dict, description="System-set values.")
    retry: RetrySpec | None = Field(default=None, description="Retries (default: none).")
    timeout: float | None = Field(default=None, gt=0, description="Seconds per attempt.")


class NodeSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1)
    type: str = Field(min_length=1, description="The node type identifier, e.g. 'counter'.")
    data: NodeData = Field(default_factory=NodeData)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # Editors export numeric ids ("id": 3); the seed treats them as strings.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class EdgeSpec(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    source_handle: str | None = Field(default=None, alias="sourceHandle")

    @field_validator("source", "target", mode="before")
    @classmethod
    def _ends_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def branch(self) -> str:
        return normalize_branch(self.source_handle)


class FlowSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    fork_execution_pool: Literal["async", "thread", "process"] | None = None
    name: str | None = None
    iteration_timeout: float | None = Field(default=None, gt=0, description="Seconds.")
    concurrency: int = Field(default=1, ge=1, le=1000, description="Iterations in flight.")
    files_dir: str | None = Field(default=None, description="Where file-writer nodes write.")


class FlowSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    nodes: list[NodeSpec]
    edges: list[EdgeSpec] = Field(default_factory=list)
    settings: FlowSettings = Field(default_factory=FlowSettings)
    env: dict[str, Any] = Field(default_factory=dict)


def parse_flow_text(text: str, *, fmt: Literal["json", "yaml"] = "json") -> Any:
    """Parse JSON or YAML text into plain data; a syntax error names the line and column."""
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise FlowFormatError(
                f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
        except RecursionError as exc:
            raise FlowFormatError("Invalid JSON: nested too deeply") from exc
    import yaml

    try:
        # Aliases can make a small YAML text expand to an enormous document; flows need few.
        aliases = sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text))
        if aliases > _MAX_YAML_ALIASES:
            raise FlowFormatError(
                f"Invalid YAML: {aliases} aliases (at most {_MAX_YAML_ALIASES} are accepted)"
            )
        return yaml.safe_load(text)
    except RecursionError as exc:
        raise FlowFormatError("Invalid YAML: nested too deeply") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FlowFormatError(f"Invalid YAML{where}: {problem}") from exc


def read_flow_file(path: str | Path) -> Any:
    """Read a ``.json``, ``.yaml`` or ``.yml`` file into plain data."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowFormatError(f"Cannot read flow file {str(file)!r}: {exc.strerror}") from exc
    fmt: Literal["json", "yaml"] = "yaml" if file.suffix.lower() in (".yaml", ".yml") else "json"
    return parse_flow_text(text, fmt=fmt)
