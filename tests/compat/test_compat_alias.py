"""The suite's import alias: ``reflow`` names resolve (checked against whichever target runs)."""

from __future__ import annotations

import os
import sys

import reflow
import reflow.events
from reflow import Context, Workflow, catch_error, step
from reflow.events import StartEvent, StopEvent


def test_top_level_exports_are_the_four_public_names() -> None:
    assert {"Context", "Workflow", "catch_error", "step"} <= set(dir(reflow))
    assert Workflow.__name__ == "Workflow"
    assert Context.__name__ == "Context"
    assert callable(step) and callable(catch_error)


def test_submodule_is_an_attribute_of_the_package() -> None:
    assert reflow.events is sys.modules["reflow.events"]
    assert issubclass(StopEvent, reflow.events.Event)
    assert issubclass(StartEvent, reflow.events.Event)


def test_peer_alias_shares_module_objects() -> None:
    if os.environ.get("REFLOW_COMPAT_TARGET") != "peer":
        assert reflow.__name__ == "reflow"
        return
    import workflows.events

    assert reflow.events is workflows.events
    assert reflow.events.__spec__.name == "workflows.events"
