"""Drawing workflows: every possible flow, or what the most recent run did.

Drop-in for the peer's ``llama_index.utils.workflow`` drawing functions, without pyvis:

* ``*_mermaid`` functions return Mermaid ``flowchart TD`` text (and write it to ``filename``
  unless it is empty), ready to paste into Markdown docs;
* the others write a self-contained HTML page: the graph is laid out here and drawn as inline
  SVG, so the page shows without network access (the peer's page loads its scripts from CDNs
  and is blank offline).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from reflow.drawing._children import GraphOf, add_child_workflows
from reflow.drawing._graph import Picture, picture_of_graph
from reflow.drawing._html import html_page, svg_markup
from reflow.drawing._mermaid import mermaid_text
from reflow.drawing._trace import (
    ExecutionRecord,
    handler_execution_trace,
    normalize_records,
    picture_of_execution,
)
from reflow.representation._build import build_workflow_graph

if TYPE_CHECKING:
    from reflow.workflow import Workflow

__all__ = [
    "ExecutionRecord",
    "draw_all_possible_flows",
    "draw_all_possible_flows_mermaid",
    "draw_most_recent_execution",
    "draw_most_recent_execution_mermaid",
    "handler_execution_trace",
    "workflow_svg",
]

_ALL_FLOWS = "All possible flows"
_RECENT_EXECUTION = "Most recent execution"


def draw_all_possible_flows(
    workflow: Workflow | type[Workflow],
    filename: str = "workflow_all_flows.html",
    notebook: bool = False,
    max_label_length: int | None = None,
    include_child_workflows: bool = True,
) -> None:
    """Write an HTML page drawing every step, event and resource of ``workflow``.

    ``notebook=True`` also displays the drawing inline when IPython is available.
    ``include_child_workflows`` merges in the workflows that steps instantiate.
    """
    picture = _workflow_picture(workflow, max_label_length, include_child_workflows)
    page = html_page(picture, _ALL_FLOWS, mermaid_text(picture))
    _write(filename, page)
    if notebook:
        _show_in_notebook(page)


def draw_all_possible_flows_mermaid(
    workflow: Workflow | type[Workflow],
    filename: str = "workflow_all_flows.mermaid",
    max_label_length: int | None = None,
    include_child_workflows: bool = True,
) -> str:
    """Mermaid text drawing every step, event and resource of ``workflow``."""
    text = mermaid_text(_workflow_picture(workflow, max_label_length, include_child_workflows))
    _write(filename, text)
    return text


def draw_most_recent_execution(
    handler: Any,
    filename: str = "workflow_recent_execution.html",
    notebook: bool = False,
    max_label_length: int | None = None,
) -> None:
    """Write an HTML page drawing the events and step runs of ``handler``'s run."""
    picture = _execution_picture(handler, max_label_length)
    page = html_page(picture, _RECENT_EXECUTION, mermaid_text(picture))
    _write(filename, page)
    if notebook:
        _show_in_notebook(page)


def draw_most_recent_execution_mermaid(
    handler: Any,
    filename: str = "workflow_recent_execution.mermaid",
    max_label_length: int | None = None,
) -> str:
    """Mermaid text drawing the events and step runs (``step#n``) of ``handler``'s run."""
    text = mermaid_text(_execution_picture(handler, max_label_length))
    _write(filename, text)
    return text


def workflow_svg(workflow: Workflow | type[Workflow], include_child_workflows: bool = True) -> str:
    """A standalone SVG document drawing ``workflow``; each node is a ``<g class="node KIND"
    data-key="...">`` (a step's key is ``step_<name>``), so a page can restyle it live."""
    picture = _workflow_picture(workflow, None, include_child_workflows)
    return svg_markup(picture).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)


def _workflow_picture(
    workflow: Any, max_label_length: int | None, include_child_workflows: bool
) -> Picture:
    from reflow import Workflow
    from reflow._steps.collect import collect_step_functions

    _check_label_length(max_label_length)
    workflow_class = workflow if isinstance(workflow, type) else type(workflow)
    if not issubclass(workflow_class, Workflow):
        raise TypeError(f"Expected a Workflow subclass or instance to draw, got {workflow!r}")

    def graph_of(cls: type[Any]) -> Any:
        steps = collect_step_functions(cls)
        return build_workflow_graph(cls, steps), steps

    return picture_of_workflow(
        workflow_class, graph_of, Workflow, max_label_length, include_child_workflows
    )


def picture_of_workflow(
    workflow_class: type[Any],
    graph_of: GraphOf,
    workflow_base: type[Any],
    max_label_length: int | None,
    include_child_workflows: bool,
) -> Picture:
    """The picture of ``workflow_class``; ``graph_of`` gives any class's graph and steps."""
    graph, steps = graph_of(workflow_class)
    picture = picture_of_graph(graph, max_label_length)
    if include_child_workflows:
        add_child_workflows(
            picture, graph, steps, graph_of, workflow_base, max_label_length,
            chain=(workflow_class,),
        )  # fmt: skip
    return picture


def _execution_picture(handler: Any, max_label_length: int | None) -> Picture:
    _check_label_length(max_label_length)
    if isinstance(handler, (list, tuple)):  # records given directly
        records = normalize_records(handler)
        title = "Workflow run"
    else:
        records = handler_execution_trace(handler)
        workflow = getattr(handler, "workflow", None) or getattr(
            getattr(handler, "ctx", None), "workflow", None
        )
        title = type(workflow).__name__ if workflow is not None else "Workflow run"
    return picture_of_execution(records, title, max_label_length)


def _check_label_length(max_label_length: object) -> None:
    if max_label_length is None:
        return
    if not isinstance(max_label_length, int) or isinstance(max_label_length, bool):
        raise TypeError(f"max_label_length must be an int or None, got {max_label_length!r}")
    if max_label_length < 1:
        raise ValueError(f"max_label_length must be at least 1, got {max_label_length}")


def _write(filename: str | None, text: str) -> None:
    if filename:
        Path(filename).write_text(text, encoding="utf-8")


def _show_in_notebook(page: str) -> None:
    """Display ``page`` inline when running under IPython; silently nothing otherwise."""
    try:
        from IPython.display import HTML, display  # type: ignore[import-not-found]
    except ImportError:
        return
    display(HTML(page))
