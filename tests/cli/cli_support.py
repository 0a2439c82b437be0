"""Shared by the CLI tests: where the sample workflows live and how to name them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

SAMPLES = Path(__file__).with_name("sample_workflows.py")

Invoke = Callable[..., Result]


def sample(name: str) -> str:
    """The TARGET for a workflow in ``sample_workflows.py``."""
    return f"{SAMPLES}:{name}"
