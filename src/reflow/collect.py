"""Fan-in markers for ``list[E]`` step parameters.

A step whose event parameter is typed ``list[E]`` receives, as one list, the ``E`` events
produced inside a *stream*: the events returned as a list by a fan-out step (one annotated
``-> list[E]``) and everything derived from them.  ``Collect`` chooses when the batch is
released::

    @step
    async def gather(self, results: list[Result]) -> StopEvent: ...  # Collect(All())

    @step
    async def first(self, results: Annotated[list[Result], Collect(Take(1))]) -> StopEvent: ...

``All()`` releases once, when the stream has no work left, with every collected event in arrival
order.  ``Take(n)`` releases at the ``n``-th arrival with those ``n`` events (or, if the stream
finishes first, with whatever arrived); later arrivals never reach the step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["All", "Cardinality", "Collect", "Take"]


@dataclass(frozen=True)
class Cardinality:
    """Base of the release strategies; use ``All()`` or ``Take(n)``."""


@dataclass(frozen=True)
class All(Cardinality):
    """Release once, when the stream finishes, with every collected event."""


@dataclass(frozen=True)
class Take(Cardinality):
    """Release at the ``n``-th arrival with the first ``n`` events."""

    n: int

    def __post_init__(self) -> None:
        # ``bool`` is an ``int``; ``Take(True)`` means ``Take(1)``, as in llama-index-workflows.
        if not isinstance(self.n, int) or self.n < 1:
            raise ValueError("Take(n) requires an integer n >= 1")


@dataclass(frozen=True)
class Collect:
    """``Annotated[list[E], Collect(...)]`` marker choosing the release strategy."""

    cardinality: Cardinality = field(default_factory=All)
