"""Mermaid ``flowchart TD`` text for a picture, in the same layout as the peer's utility.

One line per node (``key<shape>"label"<shape>:::styleClass``), one per edge
(``a --> b`` or ``a -->|"label"| b``), then the ``classDef`` lines. Unlike the peer, double
quotes in labels are written as ``#quot;`` so the text always parses.
"""

from __future__ import annotations

from reflow.drawing._graph import Kind, Picture

_SHAPES: dict[Kind, tuple[str, str]] = {
    Kind.STEP: ("[", "]"),
    Kind.START_EVENT: ("([", "])"),
    Kind.STOP_EVENT: ("([", "])"),
    Kind.EVENT: ("([", "])"),
    Kind.EXTERNAL: ("[", "]"),
    Kind.RESOURCE: ("{{", "}}"),
    Kind.RESOURCE_CONFIG: ("[", "]"),
    Kind.CHILD_CONNECTOR: ("([", "])"),
}

STYLE_CLASSES: dict[Kind, str] = {
    Kind.STEP: "stepStyle",
    Kind.START_EVENT: "startEventStyle",
    Kind.STOP_EVENT: "stopEventStyle",
    Kind.EVENT: "defaultEventStyle",
    Kind.EXTERNAL: "externalStyle",
    Kind.RESOURCE: "resourceStyle",
    Kind.RESOURCE_CONFIG: "resourceConfigStyle",
    Kind.CHILD_CONNECTOR: "childConnectorStyle",
}

# The peer's utility ends every chart with these definitions (agent styles included), so the
# same list keeps reflow's output interchangeable with it.
_CLASS_DEFINITIONS = (
    "stepStyle fill:#ADD8E6,color:#000000,line-height:1.2",
    "externalStyle fill:#BEDAE4,color:#000000,line-height:1.2",
    "resourceStyle fill:#DDA0DD,color:#000000,line-height:1.2",
    "resourceConfigStyle fill:#B2DFDB,color:#000000,line-height:1.2",
    "startEventStyle fill:#E27AFF,color:#000000",
    "stopEventStyle fill:#FFA07A,color:#000000",
    "defaultEventStyle fill:#90EE90,color:#000000",
    "reactAgentStyle fill:#E27AFF,color:#000000",
    "codeActAgentStyle fill:#66ccff,color:#000000",
    "defaultAgentStyle fill:#90EE90,color:#000000",
    "toolStyle fill:#ff9966,color:#000000",
    "workflowBaseStyle fill:#90EE90,color:#000000",
    "workflowAgentStyle fill:#66ccff,color:#000000",
    "workflowToolStyle fill:#ff9966,color:#000000",
    "workflowHandoffStyle fill:#E27AFF,color:#000000",
    "childConnectorStyle fill:#E0E0E080,color:#555555,stroke-width:0px",
)


def mermaid_text(picture: Picture) -> str:
    """The Mermaid source of ``picture`` (no trailing newline)."""
    lines = ["flowchart TD"]
    for node in picture.nodes:
        opening, closing = _SHAPES[node.kind]
        lines.append(
            f'    {node.key}{opening}"{_quote(node.label)}"{closing}:::{STYLE_CLASSES[node.kind]}'
        )
    for edge in picture.edges:
        if edge.label is None:
            lines.append(f"    {edge.source} --> {edge.target}")
        else:
            lines.append(f'    {edge.source} -->|"{_quote(edge.label)}"| {edge.target}')
    lines.extend(f"    classDef {definition}" for definition in _CLASS_DEFINITIONS)
    return "\n".join(lines)


def _quote(text: str) -> str:
    """Text safe inside a Mermaid double-quoted string."""
    return text.replace('"', "#quot;").replace("\r", " ").replace("\n", " ")
