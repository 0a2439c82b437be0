"""The peer's instrumentation without ``instrument()``: on as soon as someone listens.

llama-index-workflows always dispatches its spans and events, so LlamaIndex observability
integrations (which register handlers on llama-index-instrumentation's dispatchers) see every
run.  reflow keeps that after the import swap without importing the package itself (it takes
a fifth of a second): for each new run, if ``llama_index_instrumentation`` was imported and a
handler other than its null ones is registered (or instrument tags are set around ``run()``,
which the peer's steps see), the run gets the peer-compatible listener.
Otherwise the check costs a dictionary lookup per run.  ``instrument()`` configures the same
listener explicitly (or, with ``llama_index=False``, switches it off); then this one
stands aside.
"""

from __future__ import annotations

import sys
from typing import Any

from reflow.runtime.listeners import RunListener, add_run_listener

_NULL_HANDLERS = frozenset({"NullSpanHandler", "NullEventHandler"})
# True or False while instrument() was told whether to dispatch the peer's instrumentation
# (True: its own listener does); None: this module decides per run.
decided: bool | None = None
_watching = False


def _someone_listens(module: Any) -> bool:
    for dispatcher in module.root_manager.dispatchers.values():
        for handler in (*dispatcher.span_handlers, *dispatcher.event_handlers):
            if type(handler).__name__ not in _NULL_HANDLERS:
                return True
    return False


def _tags_set(module: Any) -> bool:
    """Whether instrument tags are active around ``run()``: steps must see them."""
    return bool(module.dispatcher.active_instrument_tags.get())


def _auto_factory(driver: Any, workflow: Any) -> RunListener | None:
    module = sys.modules.get("llama_index_instrumentation")
    if module is None or decided is not None or workflow is None:
        return None
    if not (_someone_listens(module) or _tags_set(module)):
        return None
    from reflow.observability._llama_index import llama_index_factory

    return llama_index_factory(driver, workflow)


def watch_llama_index_instrumentation() -> None:
    """Register the automatic peer instrumentation once (``import reflow`` does)."""
    global _watching
    if not _watching:
        _watching = True
        add_run_listener(_auto_factory)
