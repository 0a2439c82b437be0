"""A finished run's spans as an indented text tree, for terminals without a tracing backend.

``reflow run --trace`` prints this; it takes the SDK's finished spans (an in-memory exporter's
``get_finished_spans()``) and shows each span's name, duration, outcome and status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from reflow.observability import _attributes as attr

_OUTCOMES = (attr.RUN_OUTCOME, attr.STEP_OUTCOME, attr.WAIT_OUTCOME)


def _label(span: Any) -> str:
    attributes = dict(span.attributes or {})
    parts = [span.name]
    if span.start_time is not None and span.end_time is not None:
        parts.append(f"{(span.end_time - span.start_time) / 1e6:.1f} ms")
    for key in _OUTCOMES:
        if key in attributes:
            parts.append(str(attributes[key]))
    if attr.ATTEMPT in attributes and span.name.startswith("step "):
        parts.append(f"attempt {attributes[attr.ATTEMPT]}")
    if attr.RETRY_DELAY in attributes:
        parts.append(f"retry in {float(attributes[attr.RETRY_DELAY]):.3f} s")
    status = getattr(span, "status", None)
    if status is not None and status.status_code.name == "ERROR":
        parts.append(f"ERROR {attributes.get(attr.ERROR_TYPE, '')}".rstrip())
    return "  ".join(parts)


def render_span_tree(spans: Iterable[Any]) -> str:
    """One line per span, children indented under their parent, siblings by start time.

    A span whose parent is not among ``spans`` is a root.
    """
    spans = list(spans)
    ids = {span.context.span_id for span in spans}
    children: dict[int | None, list[Any]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        children.setdefault(parent if parent in ids else None, []).append(span)
    lines: list[str] = []

    def walk(level: Sequence[Any], prefix: str, top: bool) -> None:
        ordered = sorted(level, key=lambda s: (s.start_time or 0, s.name))
        for index, span in enumerate(ordered):
            last = index == len(ordered) - 1
            if top:
                lines.append(_label(span))
                below = ""
            else:
                lines.append(f"{prefix}{'└── ' if last else '├── '}{_label(span)}")
                below = prefix + ("    " if last else "│   ")
            walk(children.get(span.context.span_id, []), below, False)

    walk(children.get(None, []), "", True)
    return "\n".join(lines)
