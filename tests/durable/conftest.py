"""Fixtures for the durable runtime tests: journal files and runtimes torn down after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from reflow.durable import DurableRuntime

MakeRuntime = Callable[..., DurableRuntime]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "runs.db")


@pytest.fixture
def side(tmp_path: Path) -> str:
    return str(tmp_path / "side.db")


@pytest.fixture
async def make_runtime(db: str) -> AsyncIterator[MakeRuntime]:
    """Build runtimes on the test's journal (or another path); all are destroyed afterwards."""
    made: list[DurableRuntime] = []

    def make(path: str | None = None, **options: Any) -> DurableRuntime:
        options.setdefault("poll_interval", 0.02)
        runtime = DurableRuntime(path or db, **options)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.destroy()
