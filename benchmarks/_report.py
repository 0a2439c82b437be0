"""Turning many process outcomes into table rows, and the rows into a table or JSON."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from benchmarks._execute import Outcome
from benchmarks._registry import ASYNCIO, PEER, REFLOW

COLUMNS = (
    "case",
    "size",
    "metric",
    "reflow",
    "peer",
    "ratio",
    "floor",
    "reflow spread",
    "peer spread",
)


def higher_is_better(metric: str) -> bool:
    """Rates (``*_per_s``) are better high; every other metric (times, memory) is better low."""
    return metric.endswith("_per_s")


@dataclass(frozen=True)
class Figure:
    """The median of one metric over the repetitions that succeeded, with its range."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Figure:
        if not values:
            raise ValueError("a figure needs at least one value")
        return cls(statistics.median(values), min(values), max(values), len(values))


# A cell holds a figure, the reason there is none (a problem or a skip), or None (not run).
Cell = Figure | str | None


@dataclass(frozen=True)
class Row:
    """One line of the table: a metric of a case at a size, on each engine."""

    case: str
    size: int
    metric: str
    reflow: Cell
    peer: Cell
    floor: Cell = None

    @property
    def ratio(self) -> float | None:
        """How many times better reflow is than the peer (above 1: reflow wins)."""
        if not isinstance(self.reflow, Figure) or not isinstance(self.peer, Figure):
            return None
        ours, theirs = self.reflow.median, self.peer.median
        if higher_is_better(self.metric):
            return ours / theirs if theirs > 0 else None
        return theirs / ours if ours > 0 else None


def _cell(outcomes: Sequence[Outcome], metric: str) -> Cell:
    values = [o.metrics[metric] for o in outcomes if o.ok and metric in o.metrics]
    if values:
        return Figure.of(values)
    problems = [o.problem for o in outcomes if o.problem is not None]
    return problems[0] if problems else None


def summarize(outcomes: Sequence[Outcome]) -> list[Row]:
    """Group outcomes by case and size into rows, one per metric, in the order they ran.

    Floor outcomes fill the ``floor`` cell of the rows of the case they stand beside (same size,
    same metric); those with no such row get rows of their own.
    """
    groups: dict[tuple[str, int], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.spec.label, outcome.size), []).append(outcome)
    rows: list[Row] = []
    floors: dict[tuple[str, int], list[Outcome]] = {}
    for (label, size), group in groups.items():
        spec = group[0].spec
        if spec.floor_for is not None:
            floors[(label, size)] = group
            continue
        for metric in _metric_names(group):
            by_engine = {e: [o for o in group if o.engine == e] for e in (REFLOW, PEER)}
            reflow_cell = _cell(by_engine[REFLOW], metric)
            peer_cell = _cell(by_engine[PEER], metric)
            rows.append(Row(label, size, metric, reflow_cell, peer_cell))
    for (label, size), group in floors.items():
        target = group[0].spec.floor_for
        merged = False
        for index, row in enumerate(rows):
            row_name = row.case.split("[", 1)[0]
            if row_name == target and row.size == size:
                floor_cell = _cell(group, row.metric)
                if floor_cell is not None:
                    rows[index] = Row(row.case, size, row.metric, row.reflow, row.peer, floor_cell)
                    merged = True
        if not merged:
            for metric in _metric_names(group):
                rows.append(Row(label, size, metric, None, None, _cell(group, metric)))
    return rows


def _metric_names(group: Sequence[Outcome]) -> list[str]:
    names: dict[str, None] = {}
    for outcome in group:
        names.update(dict.fromkeys(outcome.metrics))
    return list(names) or ["(no result)"]


def format_number(value: float) -> str:
    """A figure with about three significant digits and thousands separators."""
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_cell(cell: Cell) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, str):
        return cell if len(cell) <= 24 else cell[:21] + "..."
    return format_number(cell.median)


def format_spread(cell: Cell) -> str:
    if not isinstance(cell, Figure):
        return ""
    if cell.count == 1:
        return "(1 run)"
    return f"{format_number(cell.low)}-{format_number(cell.high)}"


def table_cells(row: Row) -> list[str]:
    """The row's text in ``COLUMNS`` order."""
    ratio = row.ratio
    return [
        row.case,
        str(row.size),
        row.metric,
        format_cell(row.reflow),
        format_cell(row.peer),
        "-" if ratio is None else f"{format_number(ratio)}x",
        format_cell(row.floor),
        format_spread(row.reflow),
        format_spread(row.peer),
    ]


def render_plain(rows: Sequence[Row]) -> str:
    """The table as aligned plain text."""
    body = [list(COLUMNS), *(table_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in body) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True))
        for line in body
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def print_rich(rows: Sequence[Row], title: str) -> None:
    """Print the table with rich (numbers right-aligned)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title))
    for name in COLUMNS:
        justify: Literal["left", "right"] = "left" if name in ("case", "metric") else "right"
        table.add_column(name, justify=justify, no_wrap=True)
    for row in rows:
        # Text, not str: a label like "fanout[list]" must not be read as rich markup.
        table.add_row(*(Text(cell) for cell in table_cells(row)))
    console = Console()
    if not console.is_terminal:
        # Redirected output has no width to respect; never cut a figure short.
        console = Console(width=240)
    console.print(table)


def problem_notes(outcomes: Sequence[Outcome]) -> list[str]:
    """One line per failed process (skips excluded), so errors are never only a table cell."""
    return [
        f"{o.spec.label} n={o.size} {o.engine}: {o.problem}"
        for o in outcomes
        if o.problem is not None and not o.problem.startswith("skipped")
    ]


def _cell_json(cell: Cell) -> dict[str, Any] | None:
    if cell is None:
        return None
    if isinstance(cell, str):
        return {"problem": cell}
    return {"median": cell.median, "min": cell.low, "max": cell.high, "runs": cell.count}


def to_json(
    rows: Sequence[Row], outcomes: Sequence[Outcome], meta: dict[str, Any]
) -> dict[str, Any]:
    """Everything measured: the rows of the table and every process's raw record."""
    return {
        "meta": meta,
        "rows": [
            {
                "case": row.case,
                "size": row.size,
                "metric": row.metric,
                "higher_is_better": higher_is_better(row.metric),
                REFLOW: _cell_json(row.reflow),
                PEER: _cell_json(row.peer),
                ASYNCIO: _cell_json(row.floor),
                "ratio": row.ratio,
            }
            for row in rows
        ],
        "samples": [
            {
                "case": o.spec.label,
                "size": o.size,
                "engine": o.engine,
                "metrics": o.metrics,
                "problem": o.problem,
                "record": o.record,
                "process_seconds": o.wall_seconds,
            }
            for o in outcomes
        ],
    }
