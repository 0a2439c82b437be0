"""The errors a flow raises: what was wrong, and which node and field it was."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FlowError",
    "FlowFormatError",
    "FlowValidationError",
    "NodeConfigError",
    "Problem",
    "UpstreamMissingError",
]


class FlowError(Exception):
    """Base class of every error of ``reflow.flows``."""


class FlowFormatError(FlowError):
    """The text is not valid JSON or YAML (the message names the line and column)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a flow: where (node id, field) and what."""

    message: str
    node_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.node_id is not None:
            where.append(f"node {self.node_id!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class FlowValidationError(FlowError):
    """Every problem found while loading a flow, reported together."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Flow validation failed ({len(self.problems)} problem(s)):\n{lines}")


class NodeConfigError(FlowError):
    """A node's configuration (after rendering its templates) does not fit its fields."""

    def __init__(self, node_id: str, problems: list[Problem]) -> None:
        self.node_id = node_id
        self.problems = problems
        detail = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
        super().__init__(f"Node {node_id!r}: invalid configuration: {detail}")


class UpstreamMissingError(FlowError):
    """Development mode: a parent of the node has no cached output yet."""

    def __init__(self, node_id: str, missing: list[str]) -> None:
        self.node_id = node_id
        self.missing = missing
        names = ", ".join(repr(m) for m in missing)
        super().__init__(
            f"Cannot run node {node_id!r}: no cached output of upstream node(s) {names}. "
            f"Run {missing[0]!r} first."
        )
