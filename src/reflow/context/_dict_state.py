"""``DictState``, the default run state; public as ``reflow.context.state_store.DictState``.

Defined below both the state store and its snapshot codec, which each need the class.
"""

from __future__ import annotations

from reflow.events import DictLikeModel


class DictState(DictLikeModel):
    """The default state: a model with no declared fields used as a dict.

    ``state["k"]``, ``state.k``, ``"k" in state``, ``state.get("k")`` all work.
    """


# Snapshots, pickles and reprs name the class by its public module, as before the split.
DictState.__module__ = "reflow.context.state_store"
