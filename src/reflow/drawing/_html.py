"""A self-contained HTML page showing a picture as inline SVG.

Everything is computed here (layout included), so the page needs no script, stylesheet or font
from the network: it renders offline, in a notebook, or as a CI artefact. Hovering a node shows
its docstring, fields or source location; the Mermaid source sits below the drawing.
"""

from __future__ import annotations

import math
from html import escape
from itertools import pairwise

from reflow.drawing._graph import Kind, Picture, PictureNode
from reflow.drawing._layout import Box, Layout, Point, Route, layered_layout

NODE_HEIGHT = 36.0
_FONT_SIZE = 13
_LABEL_PADDING = 28.0
_MIN_NODE_WIDTH = 56.0

FILL: dict[Kind, str] = {
    Kind.STEP: "#ADD8E6",
    Kind.START_EVENT: "#E27AFF",
    Kind.STOP_EVENT: "#FFA07A",
    Kind.EVENT: "#90EE90",
    Kind.EXTERNAL: "#BEDAE4",
    Kind.RESOURCE: "#DDA0DD",
    Kind.RESOURCE_CONFIG: "#B2DFDB",
    Kind.CHILD_CONNECTOR: "#E0E0E0",
}

_LEGEND: dict[Kind, str] = {
    Kind.STEP: "step",
    Kind.START_EVENT: "start event",
    Kind.STOP_EVENT: "stop event",
    Kind.EVENT: "event",
    Kind.EXTERNAL: "outside the workflow",
    Kind.RESOURCE: "resource",
    Kind.RESOURCE_CONFIG: "resource config",
    Kind.CHILD_CONNECTOR: "child workflow",
}

_NARROW = set("fijlrtI.,:;|!'()[] ")
_WIDE = set("mwMW@%")

_STYLE = """
body { margin: 0; padding: 16px 24px; background: #fafafa; color: #222;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
h1 { font-size: 20px; margin: 0 0 4px; }
.subtitle { margin: 0 0 12px; color: #555; font-size: 13px; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin-bottom: 12px; font-size: 12px; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
.legend i { display: inline-block; width: 14px; height: 14px; border: 1px solid #666;
  border-radius: 3px; }
.canvas { overflow: auto; background: #fff; border: 1px solid #ddd; border-radius: 6px; }
svg.flow { display: block; font-size: 13px; }
svg.flow text { font-family: inherit; fill: #000; dominant-baseline: central; }
svg.flow .shape { stroke: #555; stroke-width: 1; }
svg.flow .child_connector .shape { stroke: none; fill-opacity: 0.5; }
svg.flow .child_connector text { fill: #555; }
svg.flow .node:hover .shape { stroke-width: 2.5; }
svg.flow .edge { fill: none; stroke: #666; stroke-width: 1.4; }
svg.flow .edge-label rect { fill: #fff; fill-opacity: 0.9; }
svg.flow .edge-label text { font-size: 11px; fill: #444; }
details { margin-top: 12px; font-size: 13px; }
pre { background: #f0f0f0; padding: 8px; overflow: auto; }
"""


def html_page(picture: Picture, subtitle: str, mermaid: str) -> str:
    """The whole HTML document for ``picture``."""
    title = escape(picture.title)
    kinds = list(dict.fromkeys(node.kind for node in picture.nodes))
    legend = "".join(
        f'<span><i style="background:{FILL[kind]}"></i>{escape(_LEGEND[kind])}</span>'
        for kind in kinds
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<h1>{title}</h1>\n<p class="subtitle">{escape(subtitle)}</p>\n'
        f'<div class="legend">{legend}</div>\n'
        f'<div class="canvas">\n{svg_markup(picture)}\n</div>\n'
        f"<details><summary>Mermaid source</summary><pre>{escape(mermaid)}</pre></details>\n"
        "</body>\n</html>\n"
    )


def svg_markup(picture: Picture) -> str:
    """An ``<svg>`` element drawing ``picture`` (no XML namespace needed inside HTML)."""
    layout = layered_layout(
        [(node.key, node_width(node.label), NODE_HEIGHT) for node in picture.nodes],
        [(edge.source, edge.target, edge.label) for edge in picture.edges],
    )
    parts = [
        f'<svg class="flow" width="{layout.width:.0f}" height="{layout.height:.0f}" '
        f'viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" role="img" '
        f'aria-label="{escape(picture.title)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker>'
        "</defs>",
        '<g class="edges">',
    ]
    parts += [_edge(route) for route in layout.routes]
    parts.append('</g>\n<g class="nodes">')
    parts += [_node(node, layout) for node in picture.nodes if node.key in layout.boxes]
    parts.append('</g>\n<g class="edge-labels">')
    parts += [_edge_label(route) for route in layout.routes if route.label]
    parts.append("</g>\n</svg>")
    return "\n".join(parts)


def node_width(label: str) -> float:
    """A generous estimate of the rendered label width (no font metrics are available)."""
    units = sum(0.45 if c in _NARROW else 0.95 if c in _WIDE else 0.66 for c in label)
    return max(_MIN_NODE_WIDTH, units * _FONT_SIZE + _LABEL_PADDING)


def _node(node: PictureNode, layout: Layout) -> str:
    box = layout.boxes[node.key]
    tooltip = f"<title>{escape(node.tooltip)}</title>" if node.tooltip else ""
    return (
        f'<g class="node {node.kind.value}" data-key="{escape(node.key)}">{tooltip}'
        f"{_shape(node.kind, box)}"
        f'<text x="{box.x:.1f}" y="{box.y:.1f}" text-anchor="middle">{escape(node.label)}</text>'
        "</g>"
    )


def _shape(kind: Kind, box: Box) -> str:
    left, top = box.x - box.width / 2, box.y - box.height / 2
    fill = FILL[kind]
    if kind is Kind.RESOURCE:
        inset = box.height / 3
        right, bottom = left + box.width, top + box.height
        corners = [
            (left, box.y),
            (left + inset, top),
            (right - inset, top),
            (right, box.y),
            (right - inset, bottom),
            (left + inset, bottom),
        ]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in corners)
        return f'<polygon class="shape" points="{points}" fill="{fill}"/>'
    rounding = {
        Kind.START_EVENT: box.height / 2,
        Kind.STOP_EVENT: box.height / 2,
        Kind.EVENT: box.height / 2,
        Kind.CHILD_CONNECTOR: box.height / 2,
        Kind.EXTERNAL: 0.0,
    }.get(kind, 4.0)
    dash = ' stroke-dasharray="4 3"' if kind is Kind.EXTERNAL else ""
    return (
        f'<rect class="shape" x="{left:.1f}" y="{top:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" '
        f'rx="{rounding:.1f}" fill="{fill}"{dash}/>'
    )


def _edge(route: Route) -> str:
    return f'<path class="edge" d="{_curve(route)}" marker-end="url(#arrow)"/>'


def _curve(route: Route) -> str:
    """A smooth path through the route's points, with vertical tangents at each of them."""
    (x, y), rest = route.points[0], route.points[1:]
    if route.self_loop:  # one bulge out to the right, through the two outer points
        (x1, y1), (x2, y2), (x3, y3) = rest
        return f"M{x:.1f},{y:.1f} C{x1:.1f},{y1:.1f} {x2:.1f},{y2:.1f} {x3:.1f},{y3:.1f}"
    commands = [f"M{x:.1f},{y:.1f}"]
    for next_x, next_y in rest:
        bend = (next_y - y) / 2
        commands.append(
            f"C{x:.1f},{y + bend:.1f} {next_x:.1f},{next_y - bend:.1f} {next_x:.1f},{next_y:.1f}"
        )
        x, y = next_x, next_y
    return " ".join(commands)


def _edge_label(route: Route) -> str:
    x, y = _midpoint(route.points)
    label = route.label or ""
    width = len(label) * 6.6 + 8
    return (
        f'<g class="edge-label"><rect x="{x - width / 2:.1f}" y="{y - 8:.1f}" '
        f'width="{width:.1f}" height="16" rx="3"/>'
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{escape(label)}</text></g>'
    )


def _midpoint(points: list[Point]) -> Point:
    """The point halfway along the polyline through ``points``."""
    lengths = [math.dist(a, b) for a, b in pairwise(points)]
    remaining = sum(lengths) / 2
    for (a, b), length in zip(pairwise(points), lengths, strict=True):
        if remaining <= length and length > 0:
            t = remaining / length
            return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
        remaining -= length
    return points[-1]
